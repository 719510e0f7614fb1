# Weight density of layer1.2.conv1 before and after weight normalisation (paper Fig. 1 and 5)
# Written by `apot study`; run `gnuplot weight-density.gp` here to redraw weight-density.png.
if (!exists("output")) output = "weight-density.png"
set terminal pngcairo size 1400,600
set output output
set termoption noenhanced
set grid
set multiplot layout 1,2 title "Weight density of layer1.2.conv1 before and after weight normalisation (paper Fig. 1 and 5)"
set ylabel 'density'
set style fill solid 0.5
set title "(a) as trained: mean -0.00874 (dashed), peak density 9.6"
set xlabel 'w'
set arrow 1 from -0.00873928, graph 0 to -0.00873928, graph 1 nohead dt 2 lw 2
plot 'weight-density.dat' index 0 using 1:2 with boxes lc rgb '#1f77b4' notitle
set title "(b) normalised: mean 3.6e-09 (dashed), peak density 0.48"
set xlabel 'normalised w'
set arrow 1 from 3.5955e-09, graph 0 to 3.5955e-09, graph 1 nohead dt 2 lw 2
plot 'weight-density.dat' index 1 using 1:2 with boxes lc rgb '#2ca02c' notitle
unset multiplot
unset output

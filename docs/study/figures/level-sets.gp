# Level sets of unsigned data at 3 and 4 bits, alpha = 1 (paper Fig. 2)
# Written by `apot study`; run `gnuplot level-sets.gp` here to redraw level-sets.png.
if (!exists("output")) output = "level-sets.png"
set terminal pngcairo size 1500,1000
set output output
set termoption noenhanced
set grid
set multiplot layout 2,3 title "Level sets of unsigned data at 3 and 4 bits, alpha = 1 (paper Fig. 2)"
set xrange [0:1]
set yrange [0:1.02]
set xlabel 'x'
set ylabel 'Proj(x)'
set size ratio 1
set title "uniform (Eq. 2), 3 bits: 8 levels"
plot 'level-sets.dat' index 0 using 1:2 with lines lw 2 lc rgb '#1f77b4' notitle, '' index 1 using 1:2 with points pt 7 ps 0.6 lc rgb '#d62728' notitle
set title "PoT (Eq. 3), 3 bits: 8 levels"
plot 'level-sets.dat' index 2 using 1:2 with lines lw 2 lc rgb '#1f77b4' notitle, '' index 3 using 1:2 with points pt 7 ps 0.6 lc rgb '#d62728' notitle
set title "APoT, k = 2 (Eq. 5, 6), 3 bits: 8 levels"
plot 'level-sets.dat' index 4 using 1:2 with lines lw 2 lc rgb '#1f77b4' notitle, '' index 5 using 1:2 with points pt 7 ps 0.6 lc rgb '#d62728' notitle
set title "uniform (Eq. 2), 4 bits: 16 levels"
plot 'level-sets.dat' index 6 using 1:2 with lines lw 2 lc rgb '#1f77b4' notitle, '' index 7 using 1:2 with points pt 7 ps 0.6 lc rgb '#d62728' notitle
set title "PoT (Eq. 3), 4 bits: 16 levels"
plot 'level-sets.dat' index 8 using 1:2 with lines lw 2 lc rgb '#1f77b4' notitle, '' index 9 using 1:2 with points pt 7 ps 0.6 lc rgb '#d62728' notitle
set title "APoT, k = 2 (Eq. 5, 6), 4 bits: 16 levels"
plot 'level-sets.dat' index 10 using 1:2 with lines lw 2 lc rgb '#1f77b4' notitle, '' index 11 using 1:2 with points pt 7 ps 0.6 lc rgb '#d62728' notitle
unset multiplot
unset output

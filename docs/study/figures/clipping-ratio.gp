# Clipping ratio and quantisation error of layer1.2.conv1 against alpha (paper Fig. 4a, Eq. 14)
# Written by `apot study`; run `gnuplot clipping-ratio.gp` here to redraw clipping-ratio.png.
if (!exists("output")) output = "clipping-ratio.png"
set terminal pngcairo size 1200,1000
set output output
set termoption noenhanced
set grid
set multiplot layout 2,1 title "Clipping ratio and quantisation error of layer1.2.conv1 against alpha (paper Fig. 4a, Eq. 14)"
set xrange [0:4.59138]
set key top right
set arrow 1 from 3.1231, graph 0 to 3.1231, graph 1 nohead dt 3 lw 2 lc rgb '#9467bd'
set label 1 'QEM alpha' at 3.1231, graph 0.9 offset 0.5,0 tc rgb '#9467bd'
set arrow 2 from 3.29924, graph 0 to 3.29924, graph 1 nohead dt 2 lw 2 lc rgb '#d62728'
set label 2 'learned alpha (RCF)' at 3.29924, graph 0.8 offset 0.5,0 tc rgb '#d62728'
set title 'clipping ratio: fraction of |w| > alpha'
set ylabel 'clipping ratio'
set yrange [0:1]
plot 'clipping-ratio.dat' using 1:2 with lines lw 2 title 'without WN (max |w| = 0.227)', '' using 1:3 with lines lw 2 title 'with WN (max |w| = 4.59)'
set title "quantisation error (clip + projection, Eq. 14) on apot, 4 bits (signed), k = 2"
set xlabel 'alpha'
set ylabel 'error / E[w^2]'
set logscale y
set autoscale y
plot 'clipping-ratio.dat' using 1:4 with lines lw 2 title 'without WN', '' using 1:5 with lines lw 2 title 'with WN'
unset multiplot
unset output

# Test accuracy per epoch of every row, by weight bit-width
# Written by `apot study`; run `gnuplot training-curves.gp` here to redraw training-curves.png.
if (!exists("output")) output = "training-curves.png"
set terminal pngcairo size 1800,960
set output output
set termoption noenhanced
set grid
set multiplot layout 2,3 title "Test accuracy per epoch of every row, by weight bit-width"
set xlabel 'epoch'
set ylabel 'test accuracy (%)'
set key bottom right
set title "full precision"
set xrange [0.5:20.5]
set xtics 1
plot 'training-curves.dat' index 0 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "fp32"
set title "5-bit weights"
set xrange [0.5:3.5]
set xtics 1
plot 'training-curves.dat' index 1 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "apot5", 'training-curves.dat' index 5 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "uniform5", 'training-curves.dat' index 9 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "pot5", 'training-curves.dat' index 13 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "lloyd5"
set title "4-bit weights"
set xrange [0.5:3.5]
set xtics 1
plot 'training-curves.dat' index 2 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "apot4", 'training-curves.dat' index 6 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "uniform4", 'training-curves.dat' index 10 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "pot4"
set title "3-bit weights"
set xrange [0.5:3.5]
set xtics 1
plot 'training-curves.dat' index 3 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "apot3", 'training-curves.dat' index 7 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "uniform3", 'training-curves.dat' index 11 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "pot3", 'training-curves.dat' index 14 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "lloyd3", 'training-curves.dat' index 15 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "apot3-no-rcf", 'training-curves.dat' index 16 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "apot3-no-wn"
set title "2-bit weights"
set xrange [0.5:3.5]
set xtics 1
plot 'training-curves.dat' index 4 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "apot2", 'training-curves.dat' index 8 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "uniform2", 'training-curves.dat' index 12 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "pot2", 'training-curves.dat' index 17 using 1:2 with linespoints lw 2 pt 7 ps 0.6 title "pact-sawb2"
unset multiplot
unset output

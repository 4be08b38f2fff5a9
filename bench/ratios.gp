# bench/run.sh draws the chart of ratios with: gnuplot -e "datafile='...'; outfile='...'" ratios.gp
set terminal pngcairo size 900,420 font ",10" noenhanced
set output outfile
set title "demo_server / nginx (CPU per operation, memory per idle connection) and demo_client / curl: lower is better"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:1.25]
set ylabel "ratio"
set grid ytics
set key top left
plot datafile using 2:xtic(1) title "measured" lc rgb "#3b73b9", \
     "" using 3 title "target" lc rgb "#bbbbbb", \
     1 with lines dt 2 lw 2 lc rgb "#aa3333" title "parity (1)"

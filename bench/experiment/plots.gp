# Plots of one fio experiment (called by bench/fio-experiment with -e):
#   outdir, variant; series = "MODE=timeseries.csv ..." (one per mode); bars = table with one
#   row per job and, per mode, the columns MODE_iops MODE_host MODE_system; nmodes.
set terminal pngcairo size 1000,560 noenhanced font ",10"
set datafile separator ","
set grid ytics
set key outside right top

name(i) = substr(word(series, i), 1, strstrt(word(series, i), "=") - 1)
file(i) = substr(word(series, i), strstrt(word(series, i), "=") + 1, strlen(word(series, i)))

set output outdir . "/cache-" . variant . ".png"
set title "Host page cache of the images over time (" . variant . " images)"
set xlabel "seconds since the guests started"
set ylabel "MiB"
plot for [i=1:words(series)] file(i) every ::1 using 1:3 with lines lw 2 title name(i)

set output outdir . "/device-" . variant . ".png"
set title "Bytes read from the throttled device (" . variant . " images)"
set ylabel "MiB (cumulative)"
plot for [i=1:words(series)] file(i) every ::1 using 1:6 with lines lw 2 title name(i)

set datafile separator whitespace
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set xtics rotate by 0
set xlabel ""
set key autotitle columnheader

set output outdir . "/iops-" . variant . ".png"
set title "fio IOPS per job, all guests together (" . variant . " images)"
set ylabel "IOPS"
plot for [k=0:nmodes-1] bars using 2+3*k:xtic(1)

set output outdir . "/hit-" . variant . ".png"
set title "Hit ratios per job: host (QEMU reads not from the device) and system (guest reads not from the device), " . variant
set ylabel "ratio"
set yrange [0:1]
plot for [k=0:nmodes-1] bars using 3+3*k:xtic(1), for [k=0:nmodes-1] bars using 4+3*k:xtic(1)

# Plots of one fio experiment (called by bench/fio-experiment with -e):
#   outdir, variant; series = "MODE=timeseries.csv ..." (one per mode); scans =
#   "MODE=scans.csv ..." (modes with host cache; may be empty); bars = table with one row per
#   job and, per mode, the columns MODE_iops MODE_min MODE_max MODE_host MODE_system (medians
#   over the runs, IOPS with its min and max); nmodes.
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

sname(i) = substr(word(scans, i), 1, strstrt(word(scans, i), "=") - 1)
sfile(i) = substr(word(scans, i), strstrt(word(scans, i), "=") + 1, strlen(word(scans, i)))
if (words(scans) > 0) {
  set output outdir . "/double-cached-" . variant . ".png"
  set title "Share of the images' host cache the guests hold too (singleton scan at each job boundary, " . variant . " images)"
  set ylabel "double-cached / cached"
  set yrange [0:1]
  plot for [i=1:words(scans)] sfile(i) every ::1 using 1:5 with linespoints lw 2 title sname(i)
  set yrange [*:*]
}

set datafile separator whitespace
set style data histogram
set style fill solid 0.8 border -1
set xtics rotate by 0
set xlabel ""
set key autotitle columnheader

set output outdir . "/iops-" . variant . ".png"
set title "fio IOPS per job, all guests together: median and min-max of the runs (" . variant . " images)"
set ylabel "IOPS"
set style histogram errorbars gap 1 lw 1
plot for [k=0:nmodes-1] bars using 2+5*k:3+5*k:4+5*k:xtic(1) title columnheader(2+5*k)

set output outdir . "/hit-" . variant . ".png"
set title "Hit ratios per job (medians): host (QEMU reads not from the device) and system (guest reads not from the device), " . variant
set ylabel "ratio"
set yrange [0:1]
set style histogram clustered gap 1
plot for [k=0:nmodes-1] bars using 5+5*k:xtic(1), for [k=0:nmodes-1] bars using 6+5*k:xtic(1)

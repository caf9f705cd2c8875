# Sourced (POSIX sh) by the first stage of every installed image (image/init, cloudos-disk/init):
# the kernel command line and the state block the installer wrote after the image (README.md).

# arg NAME: value of NAME= on the kernel command line (last one wins, like the kernel).
arg() {
  v=''
  for w in $(cat /proc/cmdline); do case "$w" in "$1="*) v=${w#*=} ;; esac; done
  printf '%s' "$v"
}

# read_state_block SIZE DIR: extracts the state block at the first sector boundary at or after
# byte SIZE of whichever disk has one into DIR (DIR/state/...) and sets DISK to that disk's name.
# Waits up to 10 s: virtio disks appear a moment after their module loads. Status 1: none found.
read_state_block() {
  DISK=''
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    for b in /sys/block/*; do
      n=$(basename "$b")
      case "$n" in loop*|ram*|zram*|sr*) continue ;; esac
      rm -rf "$2"; mkdir -p "$2"
      dd if="/dev/$n" bs=512 skip=$((($1 + 511) / 512)) count=4096 2>/dev/null | tar -x -f - -C "$2" 2>/dev/null
      if [ -s "$2/state/report" ]; then DISK=$n; return 0; fi
    done
    sleep 1
  done
  return 1
}

# Shared by build.sh and parts/*.sh (sourced): logging and .deb download + extraction.
# Needs CACHE (the download cache directory).

log() { printf 'boot-assets: %s\n' "$*" >&2; }

# fetch_deb PKG: downloads the current .deb of PKG into the cache (once) and extracts it with
# dpkg-deb -x — never installed on the host; prints the extracted root directory.
fetch_deb() {
  local pkg=$1 dir="$CACHE/$1"
  if [ ! -d "$dir/root" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    # _apt drops privileges for downloads: let it write into the cache directory.
    ( cd "$dir" && chmod 777 . && { apt-get download -q "$pkg" >&2 || { apt-get update -q >&2 && apt-get download -q "$pkg" >&2; }; } )
    dpkg-deb -x "$dir"/*.deb "$dir/root"
  fi
  printf '%s\n' "$dir/root"
}

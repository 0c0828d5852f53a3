# Sourced by the e2e scripts: install_missing checks each Debian package of the associative
# array NEED (package -> a file it installs that the script uses) and apt-get installs the
# ones that are not installed or lack that file.
install_missing() {
  local pkg missing=()
  for pkg in "${!NEED[@]}"; do
    if ! dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' ||
      ! [ -e "${NEED[$pkg]}" ]; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "all present: ${!NEED[*]}"
    return
  fi
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

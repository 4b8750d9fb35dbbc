# Sourced by scripts/demo and scripts/test, not a command of its own: the project's .venv, set up
# again only when what it was set up from changed, so a second run starts at once.

# make .venv with $PYTHON (default python3) when there is none
ensure_venv() {
    if [ ! -x .venv/bin/python ]; then
        "${PYTHON:-python3}" -m venv .venv
    fi
}

# stamp_of FILE...: a hash of the venv's Python, this checkout's path, DEEPSLATE_DEBUG and the
# FILEs' names and contents (not their times: a checkout touches every file)
stamp_of() {
    .venv/bin/python - "$@" <<'PY'
import hashlib, os, sys
h = hashlib.sha256(f"{sys.version}\n{os.getcwd()}\n{os.environ.get('DEEPSLATE_DEBUG', '')}\n".encode())
for name in sys.argv[1:]:
    with open(name, "rb") as f:
        h.update(f"{len(name)}:{name}\n".encode() + f.read())
print(h.hexdigest())
PY
}

# stamp_matches STAMPFILE HASH: whether STAMPFILE holds HASH
stamp_matches() {
    [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}

# build the Cython extensions in place when their sources changed since the last build or the
# built modules are missing (an editable install does not rebuild them)
build_extensions() {
    local want so
    want=$(stamp_of setup.py src/deepslate/*.pyx src/deepslate/*.pxd)
    so=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
    if stamp_matches .venv/.deepslate-ext "$want" \
            && [ -f "src/deepslate/_vm$so" ] && [ -f "src/deepslate/_snapshot$so" ]; then
        return 0
    fi
    rm -f .venv/.deepslate-ext
    .venv/bin/python setup.py -q build_ext --inplace >/dev/null 2>&1 || .venv/bin/python setup.py build_ext --inplace
    printf '%s\n' "$want" >.venv/.deepslate-ext
}

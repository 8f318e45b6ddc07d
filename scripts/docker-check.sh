#!/usr/bin/env bash
# docker-check: build the Dockerfile and start the built image without any container registry.
#
# 1. base:  make a stand-in for the Dockerfile's FROM (node:<major>-bookworm-slim): a Debian bookworm root from
#           debootstrap, the host's Node.js binary, the npm release that Node release bundles (what the official
#           image ships), the official image's "node" user (uid/gid 1000) and its docker-entrypoint.sh, imported
#           with `podman import` under the FROM name. Cached: reused while its recipe key label matches.
# 2. build: podman build --isolation chroot --pull=never --network host (the build stage runs npm against the
#           npm registry), --format docker so HEALTHCHECK is kept.
# 3. run:   podman create + export the image into a temp dir, then run its ENTRYPOINT+CMD there with chroot as
#           the image's USER, with its ENV and WORKDIR, as PID 1 of a new PID namespace (as in a container), and
#           wait for GET /healthz to answer 200; run the image's HEALTHCHECK command inside it too.
# 4. stop:  SIGTERM, as `docker stop` sends, and require exit code 0 within docker stop's default 10 s.
#
# Writes a report to $DOCKER_CHECK_REPORT (default bench/results/docker-check.md). Needs root, podman, debootstrap.
# Environment knobs: DOCKER_CHECK_REBUILD_BASE=1 remakes the base; DOCKER_CHECK_CA_FILE (a CA file for the
# build's npm, or none); DEBIAN_MIRROR; BASE_NPM_VERSION.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPORT=${DOCKER_CHECK_REPORT:-$ROOT_DIR/bench/results/docker-check.md}
IMAGE=localhost/tollgate:docker-check
CONTAINER=tollgate-docker-check
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# npm bundled with the Node.js 20.x release tarballs (20.20.2 included), which the official image installs.
BASE_NPM_VERSION=${BASE_NPM_VERSION:-10.8.2}
# Bump when the base recipe below changes, so cached base images are remade.
BASE_RECIPE=1
# Step time limits in seconds.
T_DEBOOTSTRAP=900 T_IMPORT=300 T_BUILD=1200 T_EXPORT=300 T_HEALTHY=60 T_HEALTHCHECK=15
T_STOP=10 # docker stop's default grace before SIGKILL

WORK=""
RUN_PID=""
NODE_PID=""
declare -a STEP_ROWS=() COMMANDS=()
STATUS=FAIL
FAILED_STEP=""
HEALTHZ_ANSWER="(not reached)"

log() { printf '[docker-check] %s\n' "$*" >&2; }
die() {
  FAILED_STEP=${CURRENT_STEP:-preflight}
  log "FAILED at step '$FAILED_STEP': $*"
  exit 1
}
now() { date +%s.%N; }
CURRENT_STEP="" STEP_START=""
step() {
  CURRENT_STEP=$1
  STEP_START=$(now)
  log "== $1"
}
step_done() {
  local secs note=${1:-}
  note=${note//|/\\|}
  secs=$(awk -v a="$STEP_START" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  STEP_ROWS+=("| $CURRENT_STEP | $secs s | $note |")
  log "   done in ${secs}s ${1:-}"
}
# A command line as a shell would read it back, for the report.
shell_line() {
  local out="" a
  for a in "$@"; do
    [[ $a =~ ^[A-Za-z0-9_./:=@,+%-]+$ ]] || a="'${a//\'/\'\\\'\'}'"
    out+="${out:+ }$a"
  done
  printf '%s' "$out"
}
# Runs a command under a time limit, records it for the report, and fails the step if it fails (showing the
# end of $FAIL_LOG, if set, where the command's output went).
FAIL_LOG=""
run() {
  local limit=$1
  shift
  COMMANDS+=("$(shell_line "$@")")
  timeout --kill-after=10 "$limit" "$@" || {
    local rc=$?
    [[ -n $FAIL_LOG && -f $FAIL_LOG ]] && tail -n 30 "$FAIL_LOG" >&2
    [[ $rc -eq 124 ]] && die "timed out after ${limit}s: $*"
    die "exit code $rc: $*"
  }
  FAIL_LOG=""
}

cleanup() {
  local rc=$?
  if [[ -n $NODE_PID ]] && kill -0 "$NODE_PID" 2>/dev/null; then kill -KILL "$NODE_PID" 2>/dev/null || true; fi
  if [[ -n $RUN_PID ]] && kill -0 "$RUN_PID" 2>/dev/null; then
    kill -KILL "$RUN_PID" 2>/dev/null || true
    wait "$RUN_PID" 2>/dev/null || true
  fi
  podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
  if [[ -n $WORK && -d $WORK ]]; then
    # Never delete through a mount (the run's /proc lives in its own mount namespace, so none should remain).
    if findmnt -rn -o TARGET | grep -qF "$WORK"; then
      log "left $WORK in place: something is still mounted under it"
    else
      rm -rf "$WORK"
    fi
  fi
  [[ $rc -eq 0 ]] && STATUS=PASS
  write_report || log "could not write the report to $REPORT"
  log "result: $STATUS${FAILED_STEP:+ (failed at $FAILED_STEP)}; report: $REPORT"
  exit "$rc"
}

write_report() {
  mkdir -p "$(dirname "$REPORT")"
  {
    echo "# docker-check"
    echo
    echo "- Result: **$STATUS**${FAILED_STEP:+ (failed at step \"$FAILED_STEP\")}"
    echo "- Date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "- Command: \`npm run docker:check\` (scripts/docker-check.sh, as root)"
    echo "- Machine: $(uname -sr), $(nproc) cores; $(podman --version 2>/dev/null || echo 'podman missing')"
    echo "- Base image: \`$BASE_IMAGE\` ($BASE_STATE) = Debian $DEBIAN_SUITE (debootstrap minbase) + host Node.js" \
      "$(node --version 2>/dev/null) + npm $BASE_NPM_VERSION + user node (1000:1000) + docker-entrypoint.sh"
    echo "- Built image: \`$IMAGE\`, ${IMAGE_SIZE:-unknown size}"
    echo "- GET /healthz: $HEALTHZ_ANSWER"
    echo
    echo "| Step | Duration | Notes |"
    echo "|---|---|---|"
    printf '%s\n' "${STEP_ROWS[@]}"
    echo "| total | $(awk -v a="$START" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }') s | |"
    echo
    echo "## Commands"
    echo
    echo '```'
    printf '%s\n' "${COMMANDS[@]}"
    echo '```'
  } >"$REPORT"
}

BASE_IMAGE="" BASE_STATE="not made" IMAGE_SIZE="" START=$(now)
trap cleanup EXIT
trap 'die "interrupted"' INT TERM

# ---------------------------------------------------------------- preflight
step preflight
[[ $(id -u) -eq 0 ]] || die "needs root (debootstrap, podman build --isolation chroot, chroot); run with sudo"
for tool in podman debootstrap curl node npm unshare nsenter chroot findmnt pgrep tar; do
  command -v "$tool" >/dev/null || die "'$tool' not found; apt-get install -y podman debootstrap curl"
done
cd "$ROOT_DIR"
# External FROM images (not references to earlier stages).
mapfile -t FROMS < <(awk '
  toupper($1) == "FROM" {
    i = 2; while ($i ~ /^--/) i++
    image = $i; if (toupper($(i + 1)) == "AS") stage[tolower($(i + 2))] = 1
    if (!(tolower(image) in stage)) print image
  }' Dockerfile | sort -u)
[[ ${#FROMS[@]} -eq 1 ]] || die "expected one base image in the Dockerfile's FROM lines, found: ${FROMS[*]:-none}"
[[ ${FROMS[0]} =~ ^node:([0-9]+)-${DEBIAN_SUITE}-slim$ ]] ||
  die "this check can only stand in for node:<major>-$DEBIAN_SUITE-slim, the Dockerfile uses ${FROMS[0]}"
NODE_MAJOR=${BASH_REMATCH[1]}
HOST_NODE=$(node --version)
[[ $HOST_NODE == v$NODE_MAJOR.* ]] || die "the Dockerfile wants Node $NODE_MAJOR, the host has $HOST_NODE to copy"
# The name `docker pull node:...` would store; --pull=never resolves the short name to it.
BASE_IMAGE=docker.io/library/${FROMS[0]}
HOST_NODE_BIN=$(readlink -f "$(command -v node)")
BASE_KEY="recipe=$BASE_RECIPE,suite=$DEBIAN_SUITE,node=$HOST_NODE,npm=$BASE_NPM_VERSION"
WORK=$(mktemp -d /var/tmp/tollgate-docker-check.XXXXXX)
podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
step_done "FROM ${FROMS[0]}; host node $HOST_NODE ($HOST_NODE_BIN)"

# ---------------------------------------------------------------- base image
cached_key=$(podman image inspect --format '{{index .Labels "org.tollgate.docker-check.key"}}' "$BASE_IMAGE" \
  2>/dev/null || true)
if [[ ${DOCKER_CHECK_REBUILD_BASE:-0} != 1 && $cached_key == "$BASE_KEY" ]]; then
  step "base image (cached)"
  BASE_STATE="cached"
  step_done "reused $BASE_IMAGE ($BASE_KEY)"
else
  step "base: debootstrap"
  rootfs=$WORK/base
  FAIL_LOG=$WORK/debootstrap.log
  run "$T_DEBOOTSTRAP" debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$DEBIAN_MIRROR" >"$FAIL_LOG" 2>&1
  step_done "$DEBIAN_SUITE minbase from $DEBIAN_MIRROR"

  step "base: node, npm, user"
  # Layout of the official image: /usr/local/bin/node, npm under /usr/local/lib/node_modules.
  install -D -m 0755 "$HOST_NODE_BIN" "$rootfs/usr/local/bin/node"
  run 120 npm pack --silent "npm@$BASE_NPM_VERSION" --pack-destination "$WORK" >/dev/null
  mkdir -p "$rootfs/usr/local/lib/node_modules"
  tar -xzf "$WORK/npm-$BASE_NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules"
  mv "$rootfs/usr/local/lib/node_modules/package" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # The official image's entry point: prepend `node` when the command is a flag or not a command.
  cat >"$rootfs/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
  chmod 0755 "$rootfs/usr/local/bin/docker-entrypoint.sh"
  run 60 chroot "$rootfs" /bin/sh -c \
    'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  base_node=$(chroot "$rootfs" /usr/bin/env -i /usr/local/bin/node --version) || die "node does not run in the base root"
  base_npm=$(chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin npm --version) ||
    die "npm does not run in the base root"
  # What a slim image leaves out: package lists, docs, logs.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/* "$rootfs"/root/.npm
  step_done "node $base_node, npm $base_npm"

  step "base: podman import"
  tar --numeric-owner -C "$rootfs" -cf "$WORK/base.tar" .
  rm -rf "$rootfs"
  old_base_id=$(podman image inspect --format '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true)
  run "$T_IMPORT" podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${HOST_NODE#v}" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["node"]' \
    --change "LABEL org.tollgate.docker-check.key=\"$BASE_KEY\"" \
    --message "docker-check stand-in for ${FROMS[0]}" \
    "$WORK/base.tar" "$BASE_IMAGE" >/dev/null
  rm -f "$WORK/base.tar"
  # The import moved the name; drop the previous base unless built images still use it.
  [[ -n $old_base_id ]] && podman rmi "$old_base_id" >/dev/null 2>&1 || true
  BASE_STATE="made this run"
  step_done "$(podman image inspect --format '{{.Size}}' "$BASE_IMAGE" | numfmt --to=si --suffix=B) as $BASE_IMAGE"
fi

# ---------------------------------------------------------------- build
step "podman build"
old_id=$(podman image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)
# Where HTTPS egress goes through a TLS-inspecting proxy, the host trusts its CA (npm's cafile or
# NODE_EXTRA_CA_CERTS) and the image does not. Lend the host's CA file to the build's RUN steps through bind
# mounts and npm's global npmrc ($PREFIX/etc/npmrc); RUN mounts are not committed, so the image is unchanged.
# DOCKER_CHECK_CA_FILE=none turns this off.
declare -a BUILD_TRUST=()
ca_file=${DOCKER_CHECK_CA_FILE:-$(npm config get cafile 2>/dev/null || true)}
[[ $ca_file == null || $ca_file == undefined ]] && ca_file=""
[[ -z $ca_file ]] && ca_file=${NODE_EXTRA_CA_CERTS:-}
[[ $ca_file == none ]] && ca_file=""
trust_note="no CA file lent"
if [[ -n $ca_file ]]; then
  [[ -r $ca_file ]] || die "CA file $ca_file is not readable"
  printf 'cafile=/usr/local/share/docker-check/ca.crt\n' >"$WORK/npmrc"
  BUILD_TRUST=(-v "$ca_file:/usr/local/share/docker-check/ca.crt:ro" -v "$WORK/npmrc:/usr/local/etc/npmrc:ro")
  trust_note="host CA file $ca_file lent to RUN steps"
fi
run "$T_BUILD" podman build --isolation chroot --pull=never --network host --format docker --layers \
  "${BUILD_TRUST[@]}" -t "$IMAGE" -f Dockerfile . > >(tee "$WORK/build.log" >&2) 2>&1
new_id=$(podman image inspect --format '{{.Id}}' "$IMAGE") || die "built image $IMAGE not found"
# Keep repeated runs from piling up untagged images.
[[ -n $old_id && $old_id != "$new_id" ]] && podman rmi "$old_id" >/dev/null 2>&1 || true
IMAGE_SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=si --suffix=B)
step_done "$IMAGE ${new_id:0:12}, $IMAGE_SIZE; $trust_note"

# ---------------------------------------------------------------- export
step "podman export"
rootfs=$WORK/rootfs
mkdir -p "$rootfs"
# No healthcheck timer: it is only a filesystem to export (and podman rm would complain without systemd).
run 60 podman create --no-healthcheck --name "$CONTAINER" "$IMAGE" >/dev/null
run "$T_EXPORT" podman export -o "$WORK/rootfs.tar" "$CONTAINER"
podman rm -f "$CONTAINER" >/dev/null
tar --numeric-owner -xf "$WORK/rootfs.tar" -C "$rootfs"
rm -f "$WORK/rootfs.tar"
podman image inspect "$IMAGE" >"$WORK/image.json"
# Image config as NUL-separated lists: env, entry argv (ENTRYPOINT + CMD), healthcheck argv; and scalars.
image_field() {
  node -e '
    const [img] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const c = img.Config ?? {}, hc = img.Healthcheck ?? img.HealthCheck ?? c.Healthcheck ?? {};
    const out = {
      env: c.Env ?? [], argv: [...(c.Entrypoint ?? []), ...(c.Cmd ?? [])],
      healthcheck: hc.Test?.[0] === "CMD" ? hc.Test.slice(1)
        : hc.Test?.[0] === "CMD-SHELL" ? ["/bin/sh", "-c", hc.Test[1]] : [],
      user: [c.User || "root"], workdir: [c.WorkingDir || "/"],
    }[process.argv[2]];
    process.stdout.write(out.map((s) => s + "\0").join(""));
  ' "$WORK/image.json" "$1"
}
mapfile -d '' -t IMG_ENV < <(image_field env)
mapfile -d '' -t IMG_ARGV < <(image_field argv)
mapfile -d '' -t IMG_HEALTHCHECK < <(image_field healthcheck)
mapfile -d '' -t IMG_USER < <(image_field user)
mapfile -d '' -t IMG_WORKDIR < <(image_field workdir)
[[ ${#IMG_ARGV[@]} -gt 0 ]] || die "the image has neither ENTRYPOINT nor CMD"
# USER may be a name or uid, with an optional group; resolve it in the image's own /etc/passwd.
user=${IMG_USER[0]%%:*}
read -r uid gid home < <(awk -F: -v u="$user" '$1 == u || $3 == u { print $3, $4, $6; exit }' "$rootfs/etc/passwd") ||
  die "USER $user is not in the image's /etc/passwd"
# What a container has and an exported filesystem lacks: device nodes and a /proc mount point.
mkdir -p "$rootfs/dev" "$rootfs/proc"
for dev in null:1:3 zero:1:5 random:1:8 urandom:1:9; do
  IFS=: read -r name major minor <<<"$dev"
  rm -f "$rootfs/dev/$name"
  mknod -m 0666 "$rootfs/dev/$name" c "$major" "$minor"
done
step_done "$(du -sh "$rootfs" | cut -f1) on disk; runs as $user ($uid:$gid) in ${IMG_WORKDIR[0]}: ${IMG_ARGV[*]}"

# ---------------------------------------------------------------- run until /healthz answers
step "start until /healthz 200"
PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
declare -a RUN_ENV=()
for kv in "${IMG_ENV[@]}"; do [[ $kv == PORT=* ]] || RUN_ENV+=("$kv"); done
RUN_ENV+=("PORT=$PORT" "HOME=$home" "HOSTNAME=$CONTAINER")
# unshare --pid --fork: the entry command is PID 1 of its own PID namespace, as in a container, so SIGTERM
# only stops it if it handles the signal. --mount-proc gives it /proc in a private mount namespace that
# disappears with it.
COMMANDS+=("$(shell_line unshare --mount --pid --fork --mount-proc="$rootfs/proc" chroot --userspec="$uid:$gid" \
  --groups="$gid" "$rootfs" /usr/bin/env -i -C "${IMG_WORKDIR[0]}" "${RUN_ENV[@]}" "${IMG_ARGV[@]}") &")
unshare --mount --pid --fork --mount-proc="$rootfs/proc" \
  chroot --userspec="$uid:$gid" --groups="$gid" "$rootfs" \
  /usr/bin/env -i -C "${IMG_WORKDIR[0]}" "${RUN_ENV[@]}" "${IMG_ARGV[@]}" >"$WORK/run.log" 2>&1 &
RUN_PID=$!
deadline=$(($(date +%s) + T_HEALTHY))
code=""
while :; do
  [[ -z $NODE_PID ]] && NODE_PID=$(pgrep -P "$RUN_PID" || true)
  if ! kill -0 "$RUN_PID" 2>/dev/null; then
    wait "$RUN_PID" && rc=0 || rc=$?
    RUN_PID=""
    tail -n 30 "$WORK/run.log" >&2
    die "the entry command exited with code $rc before /healthz answered (its output is above)"
  fi
  code=$(curl -sS -o "$WORK/healthz.body" -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/healthz" \
    2>/dev/null || true)
  [[ $code == 200 ]] && break
  (($(date +%s) < deadline)) || { tail -n 30 "$WORK/run.log" >&2; die "no 200 from /healthz in ${T_HEALTHY}s"; }
  sleep 0.2
done
COMMANDS+=("curl -sS --max-time 2 http://127.0.0.1:$PORT/healthz")
HEALTHZ_ANSWER="HTTP $code \`$(cat "$WORK/healthz.body")\`"
[[ -n $NODE_PID ]] || die "could not find the entry command's process under unshare ($RUN_PID)"
step_done "$HEALTHZ_ANSWER on port $PORT; PID 1 in its namespace is $(tr '\0' ' ' </proc/"$NODE_PID"/cmdline)"

# ---------------------------------------------------------------- the image's own HEALTHCHECK
if [[ ${#IMG_HEALTHCHECK[@]} -gt 0 ]]; then
  step "HEALTHCHECK command"
  # nsenter into the running entry command's root, cwd, mount and PID namespaces: what `docker exec` does.
  run "$T_HEALTHCHECK" nsenter --target "$NODE_PID" --mount --pid --root --wd -S "$uid" -G "$gid" -- \
    /usr/bin/env -i "${RUN_ENV[@]}" "${IMG_HEALTHCHECK[@]}"
  step_done "exit 0"
else
  log "the image has no HEALTHCHECK (built without --format docker?)"
fi

# ---------------------------------------------------------------- stop
step "SIGTERM to exit"
COMMANDS+=("kill -TERM <pid of the entry command>")
kill -TERM "$NODE_PID"
deadline=$(($(date +%s) + T_STOP))
while kill -0 "$RUN_PID" 2>/dev/null && (($(date +%s) < deadline)); do sleep 0.1; done
kill -0 "$RUN_PID" 2>/dev/null && die "still running ${T_STOP}s after SIGTERM (docker stop would SIGKILL it now)"
wait "$RUN_PID" && rc=0 || rc=$?
RUN_PID="" NODE_PID=""
[[ $rc -eq 0 ]] || { tail -n 30 "$WORK/run.log" >&2; die "exit code $rc after SIGTERM, expected 0"; }
step_done "exit code 0; last log line: $(tail -n 1 "$WORK/run.log" | cut -c1-160)"

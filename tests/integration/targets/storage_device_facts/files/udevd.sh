#!/usr/bin/env bash
# udevd for the test: `udevd.sh start PIDFILE` starts systemd-udevd in the
# background and records its PID, unless a udevd already answers (then it is
# used and left alone); `udevd.sh stop PIDFILE` stops only the udevd this
# script started, by the recorded PID.
set -euo pipefail
action=$1
pidfile=$2
udevd=/lib/systemd/systemd-udevd
case "$action" in
start)
	if udevadm control --ping --timeout=2 2>/dev/null; then
		echo "udevd: already running, using it"
		exit 0
	fi
	setsid "$udevd" </dev/null >/dev/null 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 50); do
		udevadm control --ping --timeout=1 2>/dev/null && { echo "udevd: started, pid $(cat "$pidfile")"; exit 0; }
		sleep 0.1
	done
	echo "udevd: did not start" >&2
	exit 1
	;;
stop)
	if [[ -s "$pidfile" ]]; then
		pid=$(cat "$pidfile")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		rm -f "$pidfile"
		echo "udevd: stopped pid $pid"
	fi
	;;
*)
	echo "usage: $0 start|stop PIDFILE" >&2
	exit 2
	;;
esac

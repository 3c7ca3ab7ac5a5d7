# Shell helpers shared by the scripts in this folder; source it.

# free_port prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_ready PID URL SECONDS waits until URL answers 200. It returns 0 then,
# 2 as soon as process PID has exited, and 1 after SECONDS.
wait_ready() {
	local pid="$1" url="$2" tries=$(($3 * 2)) code
	for _ in $(seq 1 "$tries"); do
		kill -0 "$pid" 2>/dev/null || return 2
		if code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null)" && [ "$code" = 200 ]; then
			return 0
		fi
		sleep 0.5
	done
	return 1
}

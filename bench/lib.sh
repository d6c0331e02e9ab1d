# lib.sh: helpers shared by the bench scripts (sourced, bash only).

# Print the first of ROOT/build/*/ (outside any *asan* folder) that holds
# src/bench/lethe-bench, or nothing.
bench_find_build() {
	local d
	for d in "$1"/build/*/; do
		case "$d" in *asan*) continue ;; esac
		if [ -x "$d/src/bench/lethe-bench" ]; then
			echo "${d%/}"
			return 0
		fi
	done
}

# The median of the numbers on stdin, one a line.
bench_median() {
	sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Measures what naming JVM code costs: the agent's JVMTI DynamicCodeGenerated and
# CompiledMethodLoad/Unload events and its GenerateEvents replay at VMInit. Two workloads, run
# alternately without the agent, with a baseline agent (optional, e.g. one built without these
# events) and with this agent, so all see the same machine state:
#   startup  a program whose main returns at once: JVM start to exit
#   jit      javac compiling generated sources: thousands of compilations and unloads
# Then the jit workload once more with bench/jvm-code-probe.cpp, which does the agent's event work
# and says where the time goes (its callbacks, HotSpot's Service Thread, the replays), and once
# with the probe's events off.
#   bench/jit-events.sh [rounds=5] [classes=150] [baseline libcrashagent.so]
# Needs the agent built first (mvn -B -DskipTests -Dcrashagent.windows=false package), or set
# CRASHAGENT_LIBRARY to a libcrashagent.so.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${1:-5} classes=${2:-150} baseline=${3:-}
agent=${CRASHAGENT_LIBRARY:-$root/agent/target/native/linux-x86_64/libcrashagent.so}
java=${JAVA_HOME:+$JAVA_HOME/bin/}java
javac=${JAVA_HOME:+$JAVA_HOME/bin/}javac
[ -f "$agent" ] || { echo "no $agent: build it with: mvn -B -DskipTests -Dcrashagent.windows=false package" >&2; exit 1; }
[ -z "$baseline" ] || [ -f "$baseline" ] || { echo "no baseline agent $baseline" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/hello" "$work/src/bench" "$work/reports"
echo 'public class Hello { public static void main(String[] a) {} }' >"$work/hello/Hello.java"
"$javac" -d "$work/hello" "$work/hello/Hello.java"
python3 - "$work/src/bench" "$classes" <<'PY'
import sys
out, n = sys.argv[1], int(sys.argv[2])
for c in range(n):
    body = [f"package bench;\nimport java.util.*;\nimport java.util.function.*;\nimport java.util.stream.*;\npublic class C{c} {{"]
    for m in range(30):
        body.append(f"""  public static <T extends Comparable<T>> List<String> m{m}(List<T> in, Map<String, Integer> counts) {{
    List<String> out = new ArrayList<>();
    for (T t : in) {{ String s = String.valueOf(t) + "{c}_{m}"; counts.merge(s, {m}, Integer::sum); if (s.length() > {m % 7}) out.add(s.toUpperCase()); }}
    Function<String, Integer> f = x -> x.hashCode() * {m + 1};
    return out.stream().filter(x -> f.apply(x) % {m % 5 + 2} == 0).map(x -> x + C{(c + 1) % n}.class.getSimpleName()).sorted().collect(Collectors.toList());
  }}""")
    body.append("}")
    open(f"{out}/C{c}.java", "w").write("\n".join(body))
PY

TIMEFORMAT='%3R %3U %3S'  # bash's time: wall, user and system seconds, to the millisecond
run() {  # <label> <workload> [agent]: appends "<label> <workload> <wall_ms> <cpu_ms>" to results
  local label=$1 workload=$2 lib=${3:-} flags=() wall user sys
  [ -n "$lib" ] && flags=("-agentpath:$lib=dir=$work/reports")
  if [ "$workload" = startup ]; then
    { time "$java" "${flags[@]}" -Xshare:auto -cp "$work/hello" Hello >/dev/null 2>&1; } 2>"$work/time"
  else
    rm -rf "$work/out"
    { time "$java" "${flags[@]}" -Xshare:auto -m jdk.compiler/com.sun.tools.javac.Main -proc:none -d "$work/out" \
        "$work"/src/bench/*.java >/dev/null 2>&1; } 2>"$work/time"
  fi
  read -r wall user sys <"$work/time"
  python3 -c "import sys; w,u,s=map(float,sys.argv[1:]); print('$label $workload', round(w*1000), round((u+s)*1000))" \
    "$wall" "$user" "$sys" >>"$work/results"
}

echo "java: $("$java" -version 2>&1 | head -1)"
echo "workloads: startup (empty main), jit (javac, $classes generated classes of 30 methods); $rounds alternating rounds"
: >"$work/results"
for i in $(seq 1 "$rounds"); do
  for workload in startup jit; do
    run plain "$workload"
    [ -z "$baseline" ] || run baseline "$workload" "$baseline"
    run agent "$workload" "$agent"
  done
  echo "round $i done" >&2
done
if ls "$work"/reports/crashagent_pid* >/dev/null 2>&1; then
  echo "FAIL: the agent reported a crash during the benchmark" >&2
  exit 1
fi
python3 - "$work/results" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, workload, wall, cpu = line.split()
    rows[(workload, label)].append((int(wall), int(cpu)))
for workload in ("startup", "jit"):
    plain = rows[(workload, "plain")]
    pw, pc = statistics.median(w for w, _ in plain), statistics.median(c for _, c in plain)
    for label in ("plain", "baseline", "agent"):
        if (workload, label) not in rows:
            continue
        r = rows[(workload, label)]
        w, c = statistics.median(x for x, _ in r), statistics.median(y for _, y in r)
        print(f"{workload:8} {label:9} median wall {w:7.0f} ms ({w / pw:5.3f}x)  cpu {c:7.0f} ms ({c / pc:5.3f}x)")
PY

# Where the time goes, in one run of the jit workload with the probe.
jdk=$(dirname "$(dirname "$(readlink -f "$(command -v "$javac")")")")
g++ -std=c++17 -shared -fPIC -O2 -I"$root/cpp/src" -I"$jdk/include" -I"$jdk/include/linux" -o "$work/libprobe.so" \
  "$root/bench/jvm-code-probe.cpp" "$root/cpp/src/core/jvm_code.cpp" "$root/cpp/src/core/writer.cpp"
for mode in on off; do
  rm -rf "$work/out"
  "$java" "-agentpath:$work/libprobe.so=$mode" -Xshare:auto -m jdk.compiler/com.sun.tools.javac.Main -proc:none \
    -d "$work/out" "$work"/src/bench/*.java 2>&1 | grep '^probe: '
done

#!/bin/sh
# The exhaustive check of the core can fail: each deliberate mutant of src/state.rs below must
# make `cargo test --lib state::check` fail, naming the property it broke. Run from anywhere;
# it works on a copy of the tree (tracked files as they are now) and never edits src/.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
(cd "$root" && git ls-files -z | xargs -0 cp --parents -t "$work")
export CARGO_TARGET_DIR="$root/target/core-mutants"
cp "$work/src/state.rs" "$work/state.rs.orig"

# mutate NAME OLD NEW: src/state.rs with the one occurrence of OLD (after the first
# occurrence of the anchor text AFTER, if given) replaced by NEW.
mutate() {
  python3 - "$work/state.rs.orig" "$work/src/state.rs" "$1" "$2" "$3" "${4:-}" <<'PY'
import sys
src, dst, name, old, new, after = sys.argv[1:7]
s = open(src).read()
start = s.index(after) if after else 0
i = s.find(old, start)
if i < 0:
    sys.exit(f"mutant {name}: the code to mutate is gone: {old!r}")
open(dst, "w").write(s[:i] + new + s[i + len(old):])
PY
}

missed=0
check() {
  name=$1
  log="$work/$name.log"
  if cargo test --quiet --manifest-path "$work/Cargo.toml" --lib state::check >"$log" 2>&1; then
    echo "MISSED  $name: every check passed"
    missed=$((missed + 1))
    return
  fi
  # What failed: the exhaustive check's property, then the README table's rows.
  props='exit_with_program_status|nothing_to_collected_program|kill_all_only_as_pid1|stop_reaches_once|kill_at_grace_deadline|exit_within_kill_wait|nothing_survives_the_kill_phase|deadline_while_due|always_exits|nothing_outlives_a_grace_period_or_wait|stop_delay_holds_the_first_sigterm|deadline_moves_on|nothing_before_the_deadline|cont_with_a_stop|grace_period_starts_once|second_machine_request_kills|a_stopped_process_is_woken'
  prop=$( (grep -oE "($props)[^\"]{0,50}" "$log" | head -n 1
    grep -oE '^\| `[^|]*` \|' "$log" | tr -d '|' | paste -sd ',' - | sed 's/^./README table rows:&/') |
    paste -sd ';' - | sed 's/;$//')
  if [ -z "$prop" ]; then
    echo "MISSED  $name: failed without naming a property (build error?)"
    tail -n 20 "$log"
    missed=$((missed + 1))
    return
  fi
  echo "caught  $name: $prop"
}

# 1. --wait-descendants forgets the SIGTERM sent while the program ran.
mutate wait-memory "        self.st.stop = if stop { Some(sig) } else { self.st.stop };" "" "fn forward"
check wait-memory
# 2. The kill phase never sends SIGKILL again (one /proc scan at the deadline).
mutate no-rescan "                self.push(Action::Send(self.rest, SIGKILL, false));" "" "Phase::Killed { until, next } if next <= now"
check no-rescan
# 3. After the program's status is collected, signals still go to its group.
mutate group-after-exit "Send(Target::Descendants, sig, stop && waiting)" "Send(Target::Group, sig, stop && waiting)" "fn on_signal"
check group-after-exit
# 4. The grace period's end sends no SIGKILL.
mutate no-kill-at-deadline "                self.push(Action::Send(self.rest, SIGKILL, false));" "" "Phase::Grace(at) if at <= now"
check no-kill-at-deadline
# 5. A held SIGTERM is dropped when the program exits during the stop delay.
mutate held-dropped "held.or(self.st.stop)" "self.st.stop" "fn program_gone"
check held-dropped
# 6. The kill phase has no deadline: tini-rs waits for ever for what outlives SIGKILL.
mutate no-kill-deadline "Phase::Killed { until, next } => Some(until.min(next))," "Phase::Killed { .. } => None," "pub fn deadline"
check no-kill-deadline

# 7. As a VM's init, the machine's second stop request is only another SIGTERM.
mutate machine-no-kill "            self.st.machine_asked = true;" "" "fn on_signal"
check machine-no-kill
# 8. The second request kills even while the stop delay holds the first (it must end it).
mutate machine-kill-while-held "if self.st.machine_asked && self.st.held.is_none()" "if self.st.machine_asked" "fn on_signal"
check machine-kill-while-held
# 9. Waiting for descendants, a stop request sent while the program runs wakes nobody: a
# process stopped then keeps it pending and is waited for for ever.
mutate no-wake-while-running "let cont = stop && self.cfg.wait_descendants;" "let cont = false;" "fn forward"
check no-wake-while-running

echo "core mutants: $missed missed"
[ "$missed" -eq 0 ]

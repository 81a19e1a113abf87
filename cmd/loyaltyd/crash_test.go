//go:build unix

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	crashRounds = flag.Int("crash.rounds", 0, "rounds of the SIGKILL crash test (default 10, or $LOYALTYD_CRASH_ROUNDS)")
	crashSeed   = flag.Uint64("crash.seed", 0, "seed of the SIGKILL crash test, to replay a failure (default: a new one, logged)")
)

// buildLoyaltyd builds the real binary (without -race: it is the program
// under test, not the test) into a temporary directory.
func buildLoyaltyd(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the crash test builds the loyaltyd binary and needs the go command on PATH")
	}
	bin := filepath.Join(t.TempDir(), "loyaltyd")
	// The test runs in the package's directory: "." is this command.
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running loyaltyd.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer // stdout
	log  *lockedBuffer // stderr: the JSON log
	done chan struct{}
	err  error // Wait's, once done is closed
}

func startProcess(t *testing.T, bin, name string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), out: &lockedBuffer{}, log: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.log
	p.cmd.Env = append(os.Environ(), "LOYALTYD_CONFIG=")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("%s: start %v: %v", name, args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	// A test that stops early leaves no process behind.
	t.Cleanup(func() {
		if ended, _ := p.exited(); !ended {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// exited reports whether the process ended, and its exit code.
func (p *process) exited() (bool, int) {
	select {
	case <-p.done:
		var ee *exec.ExitError
		if errors.As(p.err, &ee) {
			return true, ee.ExitCode()
		}
		if p.err != nil {
			return true, -1
		}
		return true, 0
	default:
		return false, 0
	}
}

// kill sends SIGKILL, unless the process ended on its own, and waits for
// it. It reports whether it had ended on its own, and its exit code then.
func (p *process) kill(t *testing.T) (ended bool, code int) {
	t.Helper()
	if ended, code := p.exited(); ended {
		return true, code
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("%s: SIGKILL: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not die of SIGKILL within 30s", p.name)
	}
	return false, 0
}

// stopGracefully sends SIGTERM to a daemon and fails the test unless it
// exits 0 in time.
func (h *harness) stopGracefully(t *testing.T, p *process) {
	t.Helper()
	if ended, code := p.exited(); ended {
		t.Fatalf("%s ended on its own (exit %d):\n%s", p.name, code, tail(p.log.String(), 30))
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: SIGTERM: %v", p.name, err)
	}
	select {
	case <-p.done:
		if _, code := p.exited(); code != 0 {
			t.Errorf("%s exited %d on SIGTERM, want 0:\n%s", p.name, code, tail(p.log.String(), 30))
		}
	case <-time.After(time.Minute):
		p.kill(t)
		t.Fatalf("%s did not stop within a minute of SIGTERM:\n%s", p.name, tail(p.log.String(), 30))
	}
}

// passesDone counts the passes over a store a process's JSON log says it
// finished.
func passesDone(log, storeID string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `"msg":"sync pass done"`) && strings.Contains(line, fmt.Sprintf(`"store":%q`, storeID)) {
			n++
		}
	}
	return n
}

// runBinary runs loyaltyd to its end and returns its exit code and output.
func runBinary(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := startProcess(t, bin, strings.Join(args[:1], " "), args...)
	select {
	case <-p.done:
	case <-time.After(3 * time.Minute):
		p.kill(t)
		t.Fatalf("loyaltyd %v did not end within 3 minutes:\n%s", args, tail(p.log.String(), 30))
	}
	_, code = p.exited()
	return code, p.out.String(), p.log.String()
}

// syncReport is a store's line of `sync --once`.
var syncReport = regexp.MustCompile(`(?m)^(\S+): \d+ customers and \d+ orders read \((\d+) changed\); (\d+) ledger entries, .*; (\d+) write-backs delivered, (\d+) failed, (\d+) dead$`)

// syncUntilQuiet runs `sync --once` until a pass changes no order, writes
// no ledger entry and delivers or fails no write-back on any store, at most
// limit times. It reports whether the last pass was quiet, and the passes'
// output.
func syncUntilQuiet(t *testing.T, bin, cfg string, limit int) (bool, []string) {
	t.Helper()
	var outs []string
	for range limit {
		code, out, errOut := runBinary(t, bin, "sync", "--once", "-c", cfg)
		outs = append(outs, out)
		if code != 0 {
			t.Errorf("sync --once with the platforms quiet: exit %d\n%s\n%s", code, out, tail(errOut, 20))
			return false, outs
		}
		ms := syncReport.FindAllStringSubmatch(out, -1)
		if len(ms) != 2 {
			t.Fatalf("sync --once printed %d store reports, want 2:\n%s", len(ms), out)
		}
		quiet := true
		for _, m := range ms {
			for _, n := range m[2:6] {
				if n != "0" {
					quiet = false
				}
			}
		}
		if quiet {
			return true, outs
		}
	}
	return false, outs
}

// TestCrashKillLoop runs the real binary against the Shopify and
// WooCommerce fakes and kills it with SIGKILL at random moments, over and
// over, while the stores take new orders, refunds and cancellations and
// send their webhooks (some twice, some late and out of order): during the
// backfill, while pages are applied, while write-backs go out. After the
// kills, one daemon runs to a clean stop and `sync --once` runs until
// nothing is new; then every order must be stored in its final state and
// credited exactly as a rebuild says, no discount code may have been
// created twice, and a clean run from an empty database over the same
// stores must credit every order and first-order bonus alike.
//
// -crash.rounds=50 (or LOYALTYD_CRASH_ROUNDS) runs the long variant;
// -crash.seed replays a failure's choices (the timing of the kills, and
// so what they interrupt, still varies).
func TestCrashKillLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test builds the binary and kills it many times")
	}
	rounds := 10
	if v := os.Getenv("LOYALTYD_CRASH_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("LOYALTYD_CRASH_ROUNDS=%q: want a positive number", v)
		}
		rounds = n
	}
	if *crashRounds > 0 {
		rounds = *crashRounds
	}
	seed := *crashSeed
	if seed == 0 {
		seed = rand.Uint64()
	}
	t.Logf("crash test: %d rounds, seed %d (replay with -crash.seed=%d -crash.rounds=%d)", rounds, seed, seed, rounds)

	began := time.Now()
	bin := buildLoyaltyd(t)
	t.Logf("built the binary in %s", time.Since(began).Round(time.Millisecond))
	// Small pages make the backfill many transactions, so that kills
	// land between them as well as inside them.
	h := newHarness(t, harnessOptions{seed: seed, customers: 50,
		shopifySettings: []string{"page_size: 20"}, wooSettings: []string{"page_size: 15"}})
	rng := rand.New(rand.NewPCG(seed, seed+7))
	ctx := context.Background()

	kills := map[string]int{}
	for round := range rounds {
		args := []string{"run", "-c", h.cfg}
		if rng.IntN(4) == 0 {
			args = []string{"sync", "--once", "-c", h.cfg}
		}
		name := fmt.Sprintf("round %d: loyaltyd %s", round+1, args[0])
		p := startProcess(t, bin, name, args...)
		life := time.Duration(50+rng.IntN(751)) * time.Millisecond
		for deadline := time.Now().Add(life); time.Now().Before(deadline); {
			h.mutate(ctx)
			time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
		}
		if args[0] == "run" && rng.IntN(5) == 0 {
			// Now and then a daemon is stopped the polite way instead,
			// once it runs (a signal during start-up only interrupts it):
			// it must finish what it is doing and exit 0, backfill or not.
			waitFor(t, time.Minute, name+" answers /readyz", func() []string {
				if ended, code := p.exited(); ended {
					t.Fatalf("%s ended on its own (exit %d):\n%s", name, code, tail(p.log.String(), 30))
				}
				if _, _, ok := h.getReadyz(t); !ok {
					h.mutate(ctx)
					return []string{"no answer"}
				}
				return nil
			})
			h.stopGracefully(t, p)
			kills["term"]++
			continue
		}
		ended, code := p.kill(t)
		switch {
		case !ended:
			kills[args[0]]++
			// What the kill interrupted: a pass that never ended, or
			// write-backs under way.
			if passesDone(p.log.String(), shopStore) == 0 || passesDone(p.log.String(), cornerStore) == 0 {
				kills["mid-pass"]++
			}
		case args[0] == "run":
			t.Errorf("%s ended on its own after less than %s (exit %d):\n%s", name, life, code, tail(p.log.String(), 30))
		case code != 0:
			t.Errorf("%s exited %d after a crash:\n%s\n%s", name, code, p.out.String(), tail(p.log.String(), 30))
		}
	}
	t.Logf("after %s: killed %d daemons and %d sync passes (%d of them before a store's pass ended), stopped %d daemons with SIGTERM; %d webhook deliveries accepted",
		time.Since(began).Round(time.Millisecond), kills["run"], kills["sync"], kills["mid-pass"], kills["term"], h.sent)
	h.checkWebhooksAccepted(t)
	if t.Failed() {
		t.FailNow()
	}

	// The stores are quiet now. A daemon started after the last crash
	// applies what the inbox holds, catches up, and stops cleanly.
	p := startProcess(t, bin, "recovery daemon", "run", "-c", h.cfg)
	waitFor(t, time.Minute, "the recovery daemon answers /readyz", func() []string {
		if ended, code := p.exited(); ended {
			t.Fatalf("the recovery daemon exited %d:\n%s", code, tail(p.log.String(), 40))
		}
		if _, _, ok := h.getReadyz(t); !ok {
			return []string{"no answer"}
		}
		return nil
	})
	// The deliveries held back arrive now, late: their versions are older
	// than what polling stores, and must change nothing.
	late := len(h.held)
	h.releaseHeld(ctx, late)
	waitFor(t, 3*time.Minute, "the daemon catches up after the crashes", func() []string {
		if ended, code := p.exited(); ended {
			t.Fatalf("the recovery daemon exited %d:\n%s", code, tail(p.log.String(), 40))
		}
		return h.caughtUp(t)
	})
	r, status, ok := h.getReadyz(t)
	if !ok || status != 200 || !r.Ready || len(r.Stores) != 2 {
		t.Errorf("/readyz after recovery: %d %+v", status, r)
	}
	h.checkWebhooksAccepted(t)
	t.Logf("%d late deliveries sent to the recovered daemon", late)
	h.stopGracefully(t, p)

	if quiet, outs := syncUntilQuiet(t, bin, h.cfg, 6); !quiet {
		t.Errorf("sync --once still finds work after 6 passes with the platforms quiet:\n%s", strings.Join(outs, "\n"))
	}
	if code, out, errOut := runBinary(t, bin, "rebuild", "--check", "-c", h.cfg); code != 0 {
		t.Errorf("rebuild --check after the crashes: exit %d\n%s%s", code, out, tail(errOut, 10))
	}
	crashed := h.verify(t)
	for _, st := range h.stores {
		s := crashed[st.id]
		t.Logf("%s: %d orders, %d members, %d ledger entries, %d redemptions, write-backs %v, webhooks %v (%d duplicates)",
			st.id, len(s.orders), len(s.members), len(s.entries), len(s.redemptions), s.outbox, s.inbox.ByStatus, s.inbox.Duplicates)
	}
	t.Logf("recovered and verified after %s", time.Since(began).Round(time.Millisecond))

	// A clean run: the same stores synced once into an empty database,
	// without a kill. Orders and first-order bonuses must be worth the
	// same there. (Referral judgements and automatic redemptions depend on
	// the order in which things arrived, so they are compared with a
	// rebuild above, not here.)
	cleanDB := filepath.Join(h.dir, "clean.db")
	cleanCfg := filepath.Join(h.dir, "clean.yaml")
	h.writeConfig(cleanCfg, cleanDB, harnessOptions{})
	if quiet, outs := syncUntilQuiet(t, bin, cleanCfg, 6); !quiet {
		t.Errorf("the clean run's sync --once still finds work after 6 passes:\n%s", strings.Join(outs, "\n"))
	}
	clean := readState(t, cleanDB, shopStore, cornerStore)
	for _, st := range h.stores {
		compared := 0
		streams := map[string]bool{}
		for s := range crashed[st.id].streams {
			streams[s] = true
		}
		for s := range clean[st.id].streams {
			streams[s] = true
		}
		for _, s := range slices.Sorted(maps.Keys(streams)) {
			if !strings.HasPrefix(s, "order:") && !strings.HasPrefix(s, "bonus:") {
				continue
			}
			compared++
			if got, want := crashed[st.id].streams[s], clean[st.id].streams[s]; got != want {
				t.Errorf("%s: stream %s holds %d points after the crashes, %d after a clean run", st.id, s, got, want)
			}
		}
		if compared == 0 {
			t.Errorf("%s: no earn or bonus stream to compare", st.id)
		}
		// Tiers follow from the orders that count now: the same.
		for _, id := range slices.Sorted(maps.Keys(clean[st.id].members)) {
			want := clean[st.id].members[id]
			got := crashed[st.id].members[id]
			switch {
			case got == nil:
				t.Errorf("%s: customer %s is placed (%s) after a clean run, not after the crashes", st.id, id, want.Cohort)
			case got.Cohort != want.Cohort || got.Tier != want.Tier:
				t.Errorf("%s: customer %s is %s, tier %q after the crashes; %s, tier %q after a clean run", st.id, id, got.Cohort, got.Tier, want.Cohort, want.Tier)
			}
		}
	}
}

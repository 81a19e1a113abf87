package admin

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestWeeksOf(t *testing.T) {
	t.Parallel()
	to := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		days, weeks int
	}{{365, 52}, {364, 52}, {30, 4}, {7, 1}, {3, 1}}
	for _, tt := range tests {
		from := to.AddDate(0, 0, -tt.days)
		b := weeksOf(from, to)
		if got := len(b) - 1; got != tt.weeks {
			t.Errorf("%d days: %d weeks, want %d", tt.days, got, tt.weeks)
			continue
		}
		if !b[len(b)-1].Equal(to) || b[0].Before(from) {
			t.Errorf("%d days: bounds %v … %v outside [%v, %v]", tt.days, b[0], b[len(b)-1], from, to)
		}
		for i := 1; i < len(b) && tt.days >= 7; i++ {
			if d := b[i].Sub(b[i-1]); d != 7*24*time.Hour {
				t.Errorf("%d days: week %d lasts %v", tt.days, i, d)
			}
		}
	}
}

func TestNiceStep(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ raw, want float64 }{{0, 1}, {0.3, 0.5}, {1, 1}, {3, 5}, {7, 10}, {1234, 2000}, {10001, 20000}} {
		if got := niceStep(tt.raw); got != tt.want {
			t.Errorf("niceStep(%g) = %g, want %g", tt.raw, got, tt.want)
		}
	}
}

// TestWeeklyChart draws three weeks and checks the drawing: a titled
// column per week with bars whose heights follow the numbers, and the
// same chart mirrored for right-to-left pages.
func TestWeeklyChart(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 11, 0, 0, 0, 0, time.UTC)
	weeks := []week{
		{From: at, To: at.AddDate(0, 0, 7), Issued: 1000, Redeemed: 500},
		{From: at.AddDate(0, 0, 7), To: at.AddDate(0, 0, 14), Issued: 2000, Redeemed: 250, Expired: 250},
		{From: at.AddDate(0, 0, 14), To: at.AddDate(0, 0, 21)},
	}
	svg := string(weeklyChart(weeks, english))
	for _, want := range []string{`role="img"`, `<title id="weeks-t">Points per week</title>`,
		"<title>2026-05-18 – 2026-05-24: issued \u20662,000\u2069, redeemed \u2066250\u2069, expired \u2066250\u2069</title>",
		">\u20662026-05\u2069</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the chart lacks %q", want)
		}
	}
	heights := map[string][]string{}
	for _, m := range regexp.MustCompile(`<rect class="(s-[a-z]+)" x="[0-9.]+" y="[0-9.]+" width="[0-9.]+" height="([0-9.]+)"`).FindAllStringSubmatch(svg, -1) {
		heights[m[1]] = append(heights[m[1]], m[2])
	}
	if len(heights["s-issued"]) != 2 || len(heights["s-redeemed"]) != 2 || len(heights["s-expired"]) != 1 {
		t.Fatalf("bars: %v", heights)
	}
	// 2,000 issued is twice as tall as 1,000; 500 redeemed as tall as
	// 250 redeemed and 250 expired together.
	var h [5]float64
	for i, s := range []string{heights["s-issued"][0], heights["s-issued"][1], heights["s-redeemed"][0], heights["s-redeemed"][1], heights["s-expired"][0]} {
		h[i] = mustFloat(t, s)
	}
	if d := h[1] - 2*h[0]; d > 0.2 || d < -0.2 {
		t.Errorf("issued heights %g and %g: want 1:2", h[0], h[1])
	}
	if d := h[2] - (h[3] + h[4]); d > 0.2 || d < -0.2 {
		t.Errorf("redeemed %g, and %g + %g stacked: want equal", h[2], h[3], h[4])
	}

	he := languageOf("he")
	rtl := string(weeklyChart(weeks, he))
	xs := func(s string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`<rect class="s-issued" x="([0-9.]+)"`).FindAllStringSubmatch(s, -1) {
			out = append(out, m[1])
		}
		return out
	}
	l, r := xs(svg), xs(rtl)
	if mustFloat(t, l[0]) >= mustFloat(t, l[1]) || mustFloat(t, r[0]) <= mustFloat(t, r[1]) {
		t.Errorf("left to right the weeks go %v, right to left %v: want time to run the page's way", l, r)
	}
	if empty := string(weeklyChart(nil, english)); !strings.Contains(empty, "No points in this period.") {
		t.Errorf("an empty chart: %s", empty)
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestBrowserLanguage(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ header, want string }{
		{"", ""},
		{"he-IL,he;q=0.9,en-US;q=0.8", "he"},
		{"en;q=0.5, ET;q=0.9", "et"},
		{"*", ""},
		{"fr-FR, fr;q=0.9, ar;q=0.5", "ar"},
		{"ar;q=0, en", "en"},
		{"fa-IR", ""},
		{"not a header;;;", ""},
	} {
		got := ""
		if l := browserLanguage(tt.header); l != nil {
			got = l.Code
		}
		if got != tt.want {
			t.Errorf("browserLanguage(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

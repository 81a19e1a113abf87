package admin

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/report"
)

// The dashboard's charts are SVG drawn on the server from the numbers:
// no script, no request. Colours come from the stylesheet's classes.
// Charts whose bars carry no text are mirrored for right-to-left pages by
// the stylesheet; the weekly chart, which has axis labels, is laid out
// mirrored here.

// ltr isolates a number so that a right-to-left page shows it as written
// ("-1,000", not "1,000-").
func ltr(s string) string { return "\u2066" + s + "\u2069" }

// isolate keeps a name (a tier, a reward) in its own direction inside a
// message in another: "gold" in Arabic text, "زهبي" in English.
func isolate(s string) string { return "\u2068" + s + "\u2069" }

// svgText escapes text for SVG content and attributes.
func svgText(s string) string { return template.HTMLEscapeString(s) }

// f formats a coordinate.
func f(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// bar draws a horizontal bar filled to frac (0 to 1) of its length, with
// an optional mark (0 to 1) such as a goal's target; label names it for
// screen readers and as a tooltip.
func bar(frac, mark float64, class, label string) template.HTML {
	frac = max(0, min(1, frac))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="%s">`, svgText(label))
	fmt.Fprintf(&b, `<title>%s</title><rect class="track" width="100" height="10"/>`, svgText(label))
	if frac > 0 {
		fmt.Fprintf(&b, `<rect class="%s" width="%s" height="10"/>`, class, f(frac*100))
	}
	if mark > 0 && mark <= 1 {
		fmt.Fprintf(&b, `<rect class="mark" x="%s" y="0" width="0.8" height="10"/>`, f(mark*100-0.4))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// week is one week of the weekly points chart.
type week struct {
	From, To                  time.Time
	Issued, Redeemed, Expired int64
}

// weeklyChart draws points issued (above the axis) and points redeemed
// and expired (below it, stacked) per week, with the week's numbers as
// each column's title.
func weeklyChart(weeks []week, l *language) template.HTML {
	const (
		w, h   = 900.0, 270.0
		ml, mr = 62.0, 10.0
		mt, mb = 10.0, 26.0
	)
	var up, down int64
	for _, wk := range weeks {
		up = max(up, wk.Issued)
		down = max(down, wk.Redeemed+wk.Expired)
	}
	title := l.T("Points per week")
	desc := l.T("Points issued above the axis; points redeemed and expired below it.")
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %s %s" role="img" aria-labelledby="weeks-t weeks-d">`, f(w), f(h))
	fmt.Fprintf(&b, `<title id="weeks-t">%s</title><desc id="weeks-d">%s</desc>`, svgText(title), svgText(desc))
	// x mirrors a logical position for right-to-left pages.
	x := func(v float64) float64 {
		if l.RTL {
			return w - v
		}
		return v
	}
	plotW, plotH := w-ml-mr, h-mt-mb
	if len(weeks) == 0 || up+down == 0 {
		fmt.Fprintf(&b, `<text class="axis" x="%s" y="%s" text-anchor="middle">%s</text></svg>`, f(w/2), f(h/2), svgText(l.T("No points in this period.")))
		return template.HTML(b.String())
	}
	step := niceStep(float64(max(up, down)) / 3)
	top := math.Ceil(float64(up)/step) * step
	bottom := math.Ceil(float64(down)/step) * step
	scale := plotH / (top + bottom)
	y0 := mt + top*scale
	// Grid lines and their labels.
	for v := -bottom; v <= top+step/2; v += step {
		y := y0 - v*scale
		class := "grid"
		if v == 0 {
			class = "zero"
		}
		fmt.Fprintf(&b, `<line class="%s" x1="%s" x2="%s" y1="%s" y2="%s"/>`, class, f(x(ml)), f(x(w-mr)), f(y), f(y))
		fmt.Fprintf(&b, `<text class="axis" x="%s" y="%s" text-anchor="end" dominant-baseline="middle">%s</text>`,
			f(x(ml-6)), f(y), svgText(ltr(report.Thousands(int64(v)))))
	}
	band := plotW / float64(len(weeks))
	barW := math.Max(1, band*0.72)
	lastLabel := math.Inf(-1)
	for i, wk := range weeks {
		left := ml + float64(i)*band + (band-barW)/2
		// span returns the rect of the logical span [a, a+width).
		span := func(a, width float64) (float64, float64) {
			if l.RTL {
				return w - a - width, width
			}
			return a, width
		}
		tip := fmt.Sprintf("%s – %s: %s %s, %s %s, %s %s", wk.From.Format(time.DateOnly), wk.To.Add(-time.Nanosecond).Format(time.DateOnly),
			l.T("issued"), ltr(report.Thousands(wk.Issued)), l.T("redeemed"), ltr(report.Thousands(wk.Redeemed)),
			l.T("expired"), ltr(report.Thousands(wk.Expired)))
		fmt.Fprintf(&b, `<g><title>%s</title>`, svgText(tip))
		bx, bw := span(ml+float64(i)*band, band)
		fmt.Fprintf(&b, `<rect class="hit" x="%s" y="%s" width="%s" height="%s"/>`, f(bx), f(mt), f(bw), f(plotH))
		rx, rw := span(left, barW)
		if wk.Issued > 0 {
			hh := float64(wk.Issued) * scale
			fmt.Fprintf(&b, `<rect class="s-issued" x="%s" y="%s" width="%s" height="%s"/>`, f(rx), f(y0-hh), f(rw), f(hh))
		}
		yy := y0
		for _, part := range []struct {
			v     int64
			class string
		}{{wk.Redeemed, "s-redeemed"}, {wk.Expired, "s-expired"}} {
			if part.v > 0 {
				hh := float64(part.v) * scale
				fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s"/>`, part.class, f(rx), f(yy), f(rw), f(hh))
				yy += hh
			}
		}
		b.WriteString(`</g>`)
		// A month's label under the first week that starts in it, when
		// there is room.
		c := ml + float64(i)*band + band/2
		if (i == 0 || wk.From.Month() != weeks[i-1].From.Month()) && c-lastLabel >= 44 {
			fmt.Fprintf(&b, `<text class="axis" x="%s" y="%s" text-anchor="middle">%s</text>`, f(x(c)), f(h-8), svgText(ltr(wk.From.Format("2006-01"))))
			lastLabel = c
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// weeksOf returns the bounds of the whole weeks that end at to and start
// at from or after it (a period of 365 days draws 52 weeks); a period
// shorter than a week is one column.
func weeksOf(from, to time.Time) []time.Time {
	n := int(to.Sub(from) / (7 * 24 * time.Hour))
	if n == 0 {
		return []time.Time{from, to}
	}
	bounds := make([]time.Time, n+1)
	for i := range bounds {
		bounds[i] = to.AddDate(0, 0, -7*(n-i))
	}
	return bounds
}

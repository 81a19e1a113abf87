package admin

import (
	"fmt"
	"html/template"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/report"
)

// The dashboard's pages are dashboard/layout.html around one page each.
// They are parsed once; every request executes a clone whose "t" speaks
// the request's language, so that templates read {{t "Members"}}.

// pageNames are the templates under dashboard/, besides the layout.
var pageNames = []string{"login", "error", "overview", "customers", "customer", "rewards", "segments", "stores", "simulate"}

var pages = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.New(name).Funcs(funcs(english)).ParseFS(dashboardFS,
			"dashboard/layout.html", "dashboard/"+name+".html"))
	}
	return out
}()

// pageTemplate returns a page's template speaking l.
func pageTemplate(name string, l *language) (*template.Template, error) {
	base, ok := pages[name]
	if !ok {
		return nil, fmt.Errorf("no page %q", name)
	}
	t, err := base.Clone()
	if err != nil {
		return nil, err
	}
	return t.Funcs(funcs(l)), nil
}

// number isolates a number so that it reads the same in right-to-left
// text.
func number(s string) template.HTML {
	return template.HTML(`<bdi dir="ltr">` + template.HTMLEscapeString(s) + `</bdi>`)
}

// funcs are the templates' functions in a language.
func funcs(l *language) template.FuncMap {
	return template.FuncMap{
		"t":     l.T,
		"state": l.State,
		// val is a figure's value, or why it has none.
		"val": func(f report.Figure) template.HTML {
			if f.NA != "" {
				return template.HTML(template.HTMLEscapeString(l.T("n/a")))
			}
			return number(report.FormatValue(f))
		},
		// worth is a points figure's value in money, or "".
		"worth": func(f report.Figure) string {
			if f.Unit != report.UnitPoints || f.NA != "" || f.Money.Currency == "" {
				return ""
			}
			return report.FormatMoney(f.Money)
		},
		"n": func(v any) template.HTML {
			switch x := v.(type) {
			case int:
				return number(report.Thousands(int64(x)))
			case int64:
				return number(report.Thousands(x))
			case float64:
				return number(report.Thousands(int64(math.Round(x))))
			}
			return number(fmt.Sprint(v))
		},
		"signed": func(v int64) template.HTML {
			s := report.Thousands(v)
			if v > 0 {
				s = "+" + s
			}
			return number(s)
		},
		"pct": func(v float64) template.HTML { return number(report.Percent(v)) },
		// lift is a lift figure with its sign: "+13.5 %".
		"lift": func(f report.Figure) template.HTML {
			if f.NA != "" {
				return template.HTML(template.HTMLEscapeString(l.T("n/a")))
			}
			s := report.Percent(f.Value)
			if f.Value > 0 {
				s = "+" + s
			}
			return number(s)
		},
		"upper":   strings.ToUpper,
		"isolate": isolate,
		"money":   func(m commerce.Money) template.HTML { return number(report.FormatMoney(m)) },
		"num":     func(s string) template.HTML { return number(s) },
		// period is a figure's period, its dates kept whole on a line;
		// periodtext is the same as text, for a message's argument.
		"period": func(p report.Period) template.HTML {
			s := template.HTMLEscapeString(periodText(p, l))
			return template.HTML(dateRE.ReplaceAllString(s, `<span class="nw">$0</span>`))
		},
		"periodtext": func(p report.Period) string { return periodText(p, l) },
		"day": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return ltr(t.UTC().Format(time.DateOnly))
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return l.T("never")
			}
			return ltr(t.UTC().Format("2006-01-02 15:04 UTC"))
		},
		"dur": func(seconds float64) string {
			return duration(time.Duration(seconds*float64(time.Second)), l)
		},
		"elapsed": func(d time.Duration) string { return duration(d, l) },
		"tier": func(name string) string {
			if name == "" {
				return l.T("no tier")
			}
			return name
		},
		"card":    cardURL,
		"version": func() string { return staticVersion },
		// th formats a count with thousands separators, as text.
		"th": func(v any) string {
			switch x := v.(type) {
			case int:
				return report.Thousands(int64(x))
			case int64:
				return report.Thousands(x)
			}
			return fmt.Sprint(v)
		},
		// seq is 1 … n; rev turns a row index of the RFM grid into its
		// frequency score.
		"seq": func(n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = i + 1
			}
			return out
		},
		"rev": func(i int) int { return 5 - i },
	}
}

// dateRE finds the dates (and times) periodText writes.
var dateRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}( \d{2}:\d{2} UTC)?`)

// periodText is report.Period.String in a language.
func periodText(p report.Period, l *language) string {
	if p.AsOf() {
		return l.T("as of %s", ltr(p.To.UTC().Format("2006-01-02 15:04 UTC")))
	}
	last := p.To
	if last.Equal(last.Truncate(24 * time.Hour)) {
		last = last.Add(-time.Nanosecond)
	}
	days := int(math.Round(p.To.Sub(p.From).Hours() / 24))
	return l.T("%s to %s (%d days)", ltr(p.From.UTC().Format(time.DateOnly)), ltr(last.UTC().Format(time.DateOnly)), days)
}

// duration says how long in the largest two units: "3 h 5 min".
func duration(d time.Duration, l *language) string {
	if d < 0 {
		d = -d
	}
	s := int64(d.Seconds())
	switch {
	case s < 60:
		return l.T("%d s", s)
	case s < 3600:
		return l.T("%d min", s/60)
	case s < 86400:
		return l.T("%d h %d min", s/3600, s%3600/60)
	}
	return l.T("%d d %d h", s/86400, s%86400/3600)
}

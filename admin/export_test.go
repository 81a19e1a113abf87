package admin

// Message returns a language's translation of a message, for the tests.
func Message(lang, key string) (string, bool) {
	l := languageOf(lang)
	if l == nil {
		return "", false
	}
	m, ok := l.msgs[key]
	return m, ok
}

package memory_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"

	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/memory"
)

// FuzzVerifySignature fuzzes the signature header of deliveries (the
// bodies are FuzzDecodeWebhook's): a header is accepted only when it is
// the base64 MAC of the body, the platform's own signature always is, a
// changed body never is, and refusals are ErrBadSignature.
func FuzzVerifySignature(f *testing.F) {
	const secret = "fuzz"
	p := memory.NewPlatform(memory.PlatformOptions{WebhookSecret: secret})
	memory.Attach(f.Name(), p)
	f.Cleanup(func() { memory.Detach(f.Name()) })
	c, err := connectors.Open(f.Context(), "memory", connectors.Options{StoreID: f.Name()})
	if err != nil {
		f.Fatal(err)
	}
	src := c.(connectors.WebhookSource)
	body := []byte(`{}`)
	f.Add(body, memory.Sign(secret, body))
	f.Add(body, " "+memory.Sign(secret, body))
	f.Add([]byte("x"), "")
	f.Add(body, "AAAA")
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := http.Header{}
		h.Set(memory.HeaderTopic, memory.TopicShopRedact)
		h.Set(memory.HeaderEventID, "e1")
		h.Set(memory.HeaderSignature, sig)
		_, err := src.DecodeWebhook(h, body)
		if errors.Is(err, connectors.ErrBadSignature) {
			// refused, as it may be
		} else {
			got, derr := base64.StdEncoding.DecodeString(h.Get(memory.HeaderSignature))
			want, _ := base64.StdEncoding.DecodeString(memory.Sign(secret, body))
			if derr != nil || !bytes.Equal(got, want) {
				t.Fatalf("signature %q passed for a body it is not the MAC of (%v)", sig, err)
			}
		}
		h.Set(memory.HeaderSignature, memory.Sign(secret, body))
		if _, err := src.DecodeWebhook(h, body); errors.Is(err, connectors.ErrBadSignature) {
			t.Fatalf("the platform's own signature refused: %v", err)
		}
		if _, err := src.DecodeWebhook(h, append([]byte(" "), body...)); !errors.Is(err, connectors.ErrBadSignature) {
			t.Fatalf("a changed body: %v, want ErrBadSignature", err)
		}
	})
}

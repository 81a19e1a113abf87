package memory

import (
	"reflect"
	"slices"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// TestCloneKnowsEveryReference fails when a commerce type gains a field
// that shares memory (a slice, map or pointer) and cloneOrder or
// cloneCustomer has not learned to copy it: the platform would then hand
// out aliases of its own state.
func TestCloneKnowsEveryReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		typ    reflect.Type
		copied []string // the reference fields the clone functions copy
	}{
		{reflect.TypeFor[commerce.Order](), []string{"Lines", "Codes", "Refunds", "ShippingAddress", "Tags", "Raw"}},
		{reflect.TypeFor[commerce.Refund](), []string{"Lines"}},
		{reflect.TypeFor[commerce.Customer](), []string{"Tags", "Raw"}},
		{reflect.TypeFor[commerce.LineItem](), nil},
		{reflect.TypeFor[commerce.RefundLine](), nil},
		{reflect.TypeFor[commerce.CodeUse](), nil},
		{reflect.TypeFor[commerce.Address](), nil},
		{reflect.TypeFor[commerce.Money](), nil},
		{reflect.TypeFor[commerce.DiscountCode](), nil},
	} {
		for f := range tc.typ.Fields() {
			switch f.Type.Kind() {
			case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
				if !slices.Contains(tc.copied, f.Name) {
					t.Errorf("%v.%s is a %v the clone functions do not copy", tc.typ, f.Name, f.Type.Kind())
				}
			}
		}
	}
}

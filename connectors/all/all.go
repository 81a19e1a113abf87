// Package all registers every connector that ships with loyaltyd. Only the
// binary imports it; adding a platform adds one line here.
package all

import (
	_ "github.com/loyaltyd/loyaltyd/connectors/memory"      // register memory
	_ "github.com/loyaltyd/loyaltyd/connectors/shopify"     // register shopify
	_ "github.com/loyaltyd/loyaltyd/connectors/woocommerce" // register woocommerce
)

// Package importer reads order history from export files into loyaltyd's
// vocabulary: commerce.Orders, and the customers they imply. It imports
// only commerce and the standard library; storing the orders (and the
// points they earn) is the sync engine's work, which the caller hands the
// records to through a Sink.
//
// # Formats
//
// Three formats are read, told apart by their first line (or named with
// Options.Format):
//
//   - FormatShopifyCSV, the file Shopify's admin writes under Orders ›
//     Export: one row per line item, the order's own fields on the first
//     row of the order and the order's Name on every row. Columns are found
//     by name, so older and newer exports (and ones with columns removed
//     by hand) read alike; unknown columns are ignored. See shopify.go for
//     the columns mapped.
//   - FormatWooCommerceCSV, the "Default" and "Default – one row per item"
//     order formats of WooCommerce's Customer / Order / Coupon Export
//     extension, which are what a WooCommerce store can export with its
//     customers' e-mails, ids, currencies and line items. WooCommerce's own
//     Analytics › Orders download is recognised and refused with a reason:
//     it names customers but carries neither their e-mail nor their id, nor
//     line prices, so its orders could not be given to anyone. See
//     woocommerce.go.
//   - FormatJSONL, JSON lines of loyaltyd's own order form (commerce.Order's
//     JSON, one order per line), which is also what benchmarks and other
//     tools write.
//
// # Rows that cannot be read
//
// A Reader never stops at a bad row: it reports it as a *RowError, with
// the line it is on and the reason, and goes on with the next order. An
// order spread over several rows is accepted or refused whole. Amounts are
// parsed exactly in the order's currency (commerce.ParseMoney): one with
// more decimals than its currency has, in an unknown currency, or out of
// range is refused, never rounded. Only a file that cannot be read further
// stops the reader: an I/O error, or a CSV row longer than MaxRecordBytes
// (a quote left open); a JSON line that long is refused like any other.
//
// # Memory
//
// Files are streamed: a Reader holds one order's rows at a time and never
// more than MaxRecordBytes of one row. Import reads a file twice, once in
// file order to check every row and once in time order to store the
// orders (so that points are credited in the order the orders were placed,
// whatever order the export lists them in); between the passes it keeps 32
// bytes per accepted order (32 MB for a million) to know where each is.
package importer

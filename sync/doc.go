// Package sync is loyaltyd's engine: it moves data from the platforms
// through the rules into the ledger, and the results back to the platforms.
//
// For every configured store it reads pages of changed customers and
// orders from the store's connector, starting from the saved cursor, and
// applies each page in one database transaction: upsert the records,
// evaluate the orders under the program, append ledger deltas, queue
// write-backs in the outbox, and move the cursor. Then it delivers the
// outbox through the connector's capabilities. Webhook events take the same
// path as polled pages, so both converge on the same state.
//
// The package is named after its folder; a file that also needs the
// standard library's sync imports it as stdsync.
package sync

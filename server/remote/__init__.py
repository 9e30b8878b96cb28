"""Any SPARQL 1.1 server as the store (`m99kg serve --store URL`): protocol client, RemoteStore,
the query pool that forwards /sparql, and the knowledge sync. See docs/remote-store.md."""

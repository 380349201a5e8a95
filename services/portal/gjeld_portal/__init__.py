"""Min gjeld: the person's own pages (server-rendered HTTP), calling gjeld's services over gRPC as the person."""

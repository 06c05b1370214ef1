// The baseline: a bare node:http server answering a constant JSON body, in its own process
// like the servers it is compared with.
import { createServer } from "node:http";

const body = JSON.stringify({ data: { value: "constant" } });
createServer((_req, res) => {
  res.setHeader("content-type", "application/json");
  res.end(body);
}).listen(Number(process.argv[2]), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));

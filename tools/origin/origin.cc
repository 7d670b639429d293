// gourmet-origin: a small, fast HTTP/1.1 origin for the demo, the benchmarks
// and by-hand tests. One thread, one libuv loop, llhttp in strict mode.
//
//   gourmet-origin --port N [--address 127.0.0.1] [--name NAME] [--body-size BYTES]
//
// Every request gets 200 text/plain with `X-Origin: NAME`; the body is
// "hello from NAME: METHOD TARGET\n", or BYTES times 'x' with --body-size.
// Request bodies (content-length or chunked) are read and discarded.
// Once listening it prints one line, `listening on ADDRESS:PORT`, so that a
// caller can start it on port 0 and read the port back.

#include <arpa/inet.h>
#include <fmt/format.h>
#include <llhttp.h>
#include <uv.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

struct Options {
  std::string address = "127.0.0.1";
  int port = -1;
  std::string name = "origin";
  std::optional<size_t> body_size;
};

// How the response ends the exchange; indexes kConnectionHeader.
enum Disposition { kKeepAlive11 = 0, kKeepAlive10 = 1, kClose = 2 };
constexpr std::string_view kConnectionHeader[] = {"", "Connection: keep-alive\r\n",
                                                  "Connection: close\r\n"};

constexpr size_t kReadBufferSize = 64 * 1024;
constexpr size_t kMaxTarget = 16 * 1024;
constexpr int kBacklog = 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// A slice of pending output: either bytes of the connection's `out` buffer
// (data == nullptr; an offset, because `out` may grow and move) or a
// response prebuilt at start-up, sent without copying.
struct Piece {
  const char* data;
  size_t offset;
  size_t len;
};

struct Connection {
  uv_tcp_t tcp;
  uv_write_t write_req;
  llhttp_t parser;
  std::string target;  // request target of the message being parsed
  std::string out;     // dynamic response bytes; capacity is reused
  std::vector<Piece> pieces;
  // Just enough header tracking to honour `Expect: 100-continue`, which curl
  // sends before large or chunked uploads (and otherwise waits a second).
  char field[8];
  size_t field_len = 0;
  char value[16];
  size_t value_len = 0;
  bool in_expect = false;
  bool expect_continue = false;
  bool writing = false;      // a uv_write is in flight; reading is stopped
  bool close_after = false;  // close once everything pending is written
  bool closing = false;
};

Options options;
uv_loop_t* loop = nullptr;
llhttp_settings_t settings;
// Read callbacks consume their data synchronously, so all connections can
// share one buffer on this single thread.
char read_buffer[kReadBufferSize];
std::vector<uv_buf_t> write_bufs;  // scratch; uv_write copies the array
std::string head_prefix;           // status line and fixed headers
std::string bad_request;
std::string fixed[3];  // --body-size: the whole response per Disposition
size_t fixed_head_len[3];

Connection* of(llhttp_t* parser) { return static_cast<Connection*>(parser->data); }
uv_stream_t* stream(Connection* c) { return reinterpret_cast<uv_stream_t*>(&c->tcp); }

void addOut(Connection* c, size_t start) {
  if (c->out.size() == start) return;
  // Consecutive dynamic bytes stay one piece: fewer iovecs per write.
  if (!c->pieces.empty() && c->pieces.back().data == nullptr &&
      c->pieces.back().offset + c->pieces.back().len == start) {
    c->pieces.back().len = c->out.size() - c->pieces.back().offset;
  } else {
    c->pieces.push_back(Piece{nullptr, start, c->out.size() - start});
  }
}

void appendOut(Connection* c, std::string_view bytes) {
  size_t start = c->out.size();
  c->out.append(bytes);
  addOut(c, start);
}

void closeConnection(Connection* c) {
  if (c->closing) return;
  c->closing = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp),
           [](uv_handle_t* handle) { delete static_cast<Connection*>(handle->data); });
}

void onWrite(uv_write_t* req, int status);
// Writes what is pending: uv_try_write first (the common case finishes
// here), then uv_write for the rest with reading stopped until it is done,
// so a client that does not read cannot make us buffer without bound.
void flush(Connection* c) {
  if (c->writing || c->closing) return;
  if (c->pieces.empty()) {
    if (c->close_after) closeConnection(c);
    return;
  }
  write_bufs.clear();
  for (const Piece& piece : c->pieces) {
    const char* base = piece.data != nullptr ? piece.data : c->out.data() + piece.offset;
    write_bufs.push_back(uv_buf_init(const_cast<char*>(base), piece.len));
  }
  int n = uv_try_write(stream(c), write_bufs.data(), write_bufs.size());
  if (n == UV_EAGAIN) n = 0;
  if (n < 0) return closeConnection(c);
  size_t written = n;
  size_t i = 0;
  while (i < write_bufs.size() && written >= write_bufs[i].len) written -= write_bufs[i++].len;
  if (i == write_bufs.size()) {
    c->pieces.clear();
    c->out.clear();
    if (c->close_after) closeConnection(c);
    return;
  }
  write_bufs[i].base += written;
  write_bufs[i].len -= written;
  if (uv_write(&c->write_req, stream(c), write_bufs.data() + i, write_bufs.size() - i, onWrite) !=
      0) {
    return closeConnection(c);
  }
  c->writing = true;
  uv_read_stop(stream(c));
}

void onAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  *buf = uv_buf_init(read_buffer, sizeof read_buffer);
}

void onRead(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
  auto* c = static_cast<Connection*>(s->data);
  if (nread < 0) {  // EOF or error: finish what is pending, then close
    uv_read_stop(s);
    c->close_after = true;
    return flush(c);
  }
  if (nread == 0) return;
  llhttp_errno_t err = llhttp_execute(&c->parser, buf->base, nread);
  if (err != HPE_OK) {
    // Paused means the last answered request ends the connection; anything
    // else is a malformed request, answered after those before it.
    if (err != HPE_PAUSED && err != HPE_PAUSED_UPGRADE) {
      c->pieces.push_back(Piece{bad_request.data(), 0, bad_request.size()});
    }
    c->close_after = true;
    uv_read_stop(s);
  }
  flush(c);
}

void onWrite(uv_write_t* req, int status) {
  auto* c = static_cast<Connection*>(req->data);
  c->writing = false;
  if (status < 0) return closeConnection(c);
  c->pieces.clear();
  c->out.clear();
  if (c->close_after) return closeConnection(c);
  uv_read_start(stream(c), onAlloc, onRead);
}

int onMessageBegin(llhttp_t* p) {
  Connection* c = of(p);
  c->target.clear();
  c->field_len = 0;
  c->in_expect = false;
  c->expect_continue = false;
  return 0;
}

int onUrl(llhttp_t* p, const char* at, size_t len) {
  Connection* c = of(p);
  if (c->target.size() + len > kMaxTarget) return -1;  // answered with 400
  c->target.append(at, len);
  return 0;
}

// Lower-cases into a small fixed buffer; `len` keeps counting past its end
// so that longer names never compare equal.
void collect(char* dst, size_t cap, size_t& len, const char* at, size_t n) {
  for (size_t i = 0; i < n; ++i, ++len) {
    if (len < cap) dst[len] = static_cast<char>(at[i] >= 'A' && at[i] <= 'Z' ? at[i] + 32 : at[i]);
  }
}

int onHeaderField(llhttp_t* p, const char* at, size_t len) {
  Connection* c = of(p);
  collect(c->field, sizeof c->field, c->field_len, at, len);
  return 0;
}

int onHeaderFieldComplete(llhttp_t* p) {
  Connection* c = of(p);
  c->in_expect = c->field_len == 6 && std::memcmp(c->field, "expect", 6) == 0;
  c->field_len = 0;
  c->value_len = 0;
  return 0;
}

int onHeaderValue(llhttp_t* p, const char* at, size_t len) {
  Connection* c = of(p);
  if (c->in_expect) collect(c->value, sizeof c->value, c->value_len, at, len);
  return 0;
}

int onHeaderValueComplete(llhttp_t* p) {
  Connection* c = of(p);
  if (c->in_expect && c->value_len == 12 && std::memcmp(c->value, "100-continue", 12) == 0) {
    c->expect_continue = true;
  }
  c->in_expect = false;
  return 0;
}

int onHeadersComplete(llhttp_t* p) {
  Connection* c = of(p);
  if (c->expect_continue && p->http_major == 1 && p->http_minor >= 1) appendOut(c, kContinue);
  return 0;
}

int onMessageComplete(llhttp_t* p) {
  Connection* c = of(p);
  bool keep_alive = llhttp_should_keep_alive(p) != 0 && p->upgrade == 0;
  Disposition d = !keep_alive ? kClose : p->http_minor == 0 ? kKeepAlive10 : kKeepAlive11;
  bool head = p->method == HTTP_HEAD;
  if (options.body_size) {
    c->pieces.push_back(Piece{fixed[d].data(), 0, head ? fixed_head_len[d] : fixed[d].size()});
  } else {
    std::string_view method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    constexpr std::string_view kHello = "hello from ";
    size_t body_len =
        kHello.size() + options.name.size() + 2 + method.size() + 1 + c->target.size() + 1;
    fmt::format_int body_len_text(body_len);
    size_t start = c->out.size();
    std::string& o = c->out;
    o.append(head_prefix).append(body_len_text.data(), body_len_text.size()).append("\r\n");
    o.append(kConnectionHeader[d]).append("\r\n");
    if (!head) {
      o.append(kHello).append(options.name).append(": ").append(method).append(" ");
      o.append(c->target).append("\n");
    }
    addOut(c, start);
  }
  if (!keep_alive) {
    c->close_after = true;
    return HPE_PAUSED;  // ignore whatever follows a request that closes
  }
  return 0;
}

void onConnection(uv_stream_t* server, int status) {
  if (status < 0) return;
  auto* c = new Connection();
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  c->write_req.data = c;
  if (uv_accept(server, stream(c)) != 0) return closeConnection(c);
  uv_tcp_nodelay(&c->tcp, 1);
  llhttp_init(&c->parser, HTTP_REQUEST, &settings);
  c->parser.data = c;
  uv_read_start(stream(c), onAlloc, onRead);
}

void buildResponses() {
  head_prefix =
      fmt::format("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Origin: {}\r\nContent-Length: ",
                  options.name);
  bad_request = fmt::format(
      "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
      "X-Origin: {}\r\nConnection: close\r\n\r\nbad request\n",
      options.name);
  if (!options.body_size) return;
  for (int d = kKeepAlive11; d <= kClose; ++d) {
    fixed[d] = fmt::format("{}{}\r\n{}\r\n", head_prefix, *options.body_size, kConnectionHeader[d]);
    fixed_head_len[d] = fixed[d].size();
    fixed[d].append(*options.body_size, 'x');
  }
}

[[noreturn]] void usage(const std::string& error) {
  if (!error.empty()) fmt::print(stderr, "gourmet-origin: {}\n", error);
  fmt::print(stderr,
             "usage: gourmet-origin --port N [--address 127.0.0.1] [--name NAME] "
             "[--body-size BYTES]\n");
  std::exit(2);
}

uint64_t number(std::string_view flag, std::string_view text, uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) {
    usage(fmt::format("{}: not a number up to {}: '{}'", flag, max, text));
  }
  return value;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (flag == "--help" || flag == "-h") usage("");
    if (i + 1 >= argc) usage(fmt::format("{} needs a value", flag));
    std::string_view value = argv[++i];
    if (flag == "--port") {
      o.port = static_cast<int>(number(flag, value, 65535));
    } else if (flag == "--address") {
      o.address = value;
    } else if (flag == "--name") {
      if (value.empty() || value.find_first_of("\r\n") != std::string_view::npos) {
        usage("--name must be non-empty and on one line");
      }
      o.name = value;
    } else if (flag == "--body-size") {
      o.body_size = number(flag, value, uint64_t{1} << 30);
    } else {
      usage(fmt::format("unknown flag {}", flag));
    }
  }
  if (o.port < 0) usage("--port is required (0 picks a free port)");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  options = parse(argc, argv);
  buildResponses();
  std::signal(SIGPIPE, SIG_IGN);  // a vanished client is an error code, not a signal

  llhttp_settings_init(&settings);
  settings.on_message_begin = onMessageBegin;
  settings.on_url = onUrl;
  settings.on_header_field = onHeaderField;
  settings.on_header_field_complete = onHeaderFieldComplete;
  settings.on_header_value = onHeaderValue;
  settings.on_header_value_complete = onHeaderValueComplete;
  settings.on_headers_complete = onHeadersComplete;
  settings.on_message_complete = onMessageComplete;

  loop = uv_default_loop();
  sockaddr_storage addr{};
  bool v6 = options.address.find(':') != std::string::npos;
  int rc = v6 ? uv_ip6_addr(options.address.c_str(), options.port,
                            reinterpret_cast<sockaddr_in6*>(&addr))
              : uv_ip4_addr(options.address.c_str(), options.port,
                            reinterpret_cast<sockaddr_in*>(&addr));
  if (rc != 0) usage(fmt::format("--address: not an IP address: '{}'", options.address));

  uv_tcp_t server;
  uv_tcp_init(loop, &server);
  rc = uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&server), kBacklog, onConnection);
  if (rc != 0) {
    fmt::print(stderr, "gourmet-origin: cannot listen on {}:{}: {}\n", options.address,
               options.port, uv_strerror(rc));
    return 1;
  }
  int len = sizeof addr;
  uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                      : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  fmt::print("listening on {}:{}\n", v6 ? "[" + options.address + "]" : options.address, port);
  std::fflush(stdout);

  uv_signal_t sigint;
  uv_signal_t sigterm;
  for (auto [handle, signum] : {std::pair{&sigint, SIGINT}, std::pair{&sigterm, SIGTERM}}) {
    uv_signal_init(loop, handle);
    uv_signal_start(
        handle, [](uv_signal_t* h, int) { uv_stop(h->loop); }, signum);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}

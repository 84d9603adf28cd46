package weir.node;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, byte for byte as the test writes it: for requests no well-behaved
 * client would send (malformed framing, invalid bytes, lying Content-Length). One request per
 * connection.
 */
final class RawHttp {
  /**
   * A response: status (0 when the server closed without one), headers (lower-case names), body.
   */
  record Response(int status, Map<String, String> headers, byte[] body) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  private RawHttp() {}

  /**
   * Sends {@code request} to 127.0.0.1:{@code port} and reads the response until the server closes.
   */
  static Response exchange(int port, byte[] request, Duration timeout) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress("127.0.0.1", port), (int) timeout.toMillis());
      socket.setSoTimeout((int) timeout.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write(request);
      out.flush();
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      InputStream in = socket.getInputStream();
      byte[] buf = new byte[8192];
      try {
        for (int n; (n = in.read(buf)) >= 0; ) {
          all.write(buf, 0, n);
          if (complete(all.toByteArray())) break;
        }
      } catch (SocketTimeoutException | SocketException e) {
        // whatever arrived is the answer (or none)
      }
      return parse(all.toByteArray());
    }
  }

  /** A request: method, target, headers (Host and Connection: close added), body. */
  static byte[] request(String method, String target, Map<String, String> headers, byte[] body) {
    StringBuilder head =
        new StringBuilder(method)
            .append(' ')
            .append(target)
            .append(" HTTP/1.1\r\n")
            .append("Host: 127.0.0.1\r\nConnection: close\r\n");
    headers.forEach((k, v) -> head.append(k).append(": ").append(v).append("\r\n"));
    if (body != null
        && headers.keySet().stream()
            .noneMatch(
                k ->
                    k.equalsIgnoreCase("Content-Length")
                        || k.equalsIgnoreCase("Transfer-Encoding"))) {
      head.append("Content-Length: ").append(body.length).append("\r\n");
    }
    head.append("\r\n");
    byte[] h = head.toString().getBytes(StandardCharsets.ISO_8859_1);
    if (body == null) return h;
    byte[] all = new byte[h.length + body.length];
    System.arraycopy(h, 0, all, 0, h.length);
    System.arraycopy(body, 0, all, h.length, body.length);
    return all;
  }

  private static boolean complete(byte[] data) {
    Response r = parse(data);
    if (r.status() == 0) return false;
    String length = r.header("content-length");
    return length != null && r.body().length >= Long.parseLong(length.strip());
  }

  private static Response parse(byte[] data) {
    String text = new String(data, StandardCharsets.ISO_8859_1);
    int end = text.indexOf("\r\n\r\n");
    if (!text.startsWith("HTTP/") || end < 0) return new Response(0, Map.of(), new byte[0]);
    String[] lines = text.substring(0, end).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon > 0)
        headers.put(
            lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
            lines[i].substring(colon + 1).strip());
    }
    byte[] body = new byte[data.length - end - 4];
    System.arraycopy(data, end + 4, body, 0, body.length);
    return new Response(status, headers, body);
  }
}

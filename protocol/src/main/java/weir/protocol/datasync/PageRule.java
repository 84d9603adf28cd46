package weir.protocol.datasync;

import java.net.URI;
import java.util.regex.Pattern;

/**
 * A page of a connection ({@code page_rules}: {@code [{id, name, pattern}]}): the events whose page
 * URL matches {@code pattern}. A pattern that starts with {@code /} is matched against the URL's
 * path, any other against the whole URL; {@code *} matches any characters, everything else
 * literally.
 */
public record PageRule(String id, String name, String pattern) {
  public PageRule {
    if (id == null || !id.matches("[A-Za-z0-9_-]{1,64}"))
      throw new IllegalArgumentException(
          "a page rule needs an \"id\" of 1 to 64 letters, digits, '_' or '-'");
    if (name == null || name.isBlank())
      throw new IllegalArgumentException("page rule " + id + " needs a \"name\"");
    if (pattern == null || pattern.isBlank())
      throw new IllegalArgumentException("page rule " + id + " needs a \"pattern\"");
  }

  /** Whether the page at {@code url} (absolute or a path; null: none) is this page. */
  public boolean matches(String url) {
    if (url == null || url.isEmpty()) return false;
    String subject = url;
    if (pattern.startsWith("/")) {
      subject = path(url);
      if (subject == null) return false;
    }
    return regex().matcher(subject).matches();
  }

  private static final java.util.Map<String, Pattern> COMPILED =
      new java.util.concurrent.ConcurrentHashMap<>();

  private Pattern regex() {
    if (COMPILED.size() > 10_000) COMPILED.clear();
    return COMPILED.computeIfAbsent(pattern, PageRule::compile);
  }

  private static Pattern compile(String pattern) {
    StringBuilder re = new StringBuilder();
    for (String part : pattern.split("\\*", -1)) {
      if (re.length() > 0) re.append(".*");
      re.append(Pattern.quote(part));
    }
    return Pattern.compile(re.toString());
  }

  private static String path(String url) {
    if (url.startsWith("/")) {
      int q = indexOfAny(url, '?', '#');
      return q < 0 ? url : url.substring(0, q);
    }
    try {
      String p = URI.create(url).getRawPath();
      return p == null || p.isEmpty() ? "/" : p;
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static int indexOfAny(String s, char a, char b) {
    for (int i = 0; i < s.length(); i++) if (s.charAt(i) == a || s.charAt(i) == b) return i;
    return -1;
  }
}

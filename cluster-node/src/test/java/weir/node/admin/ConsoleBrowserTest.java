package weir.node.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static weir.node.Eventually.eventually;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;
import weir.node.NodeApi;
import weir.node.TestNodes;
import weir.node.WeirNode;
import weir.node.stream.Kinesalite;
import weir.protocol.Json;

/**
 * The operator console in a real browser (Debian's chromium, headless, driven by Selenium through
 * /usr/bin/chromedriver; nothing is downloaded) against a real node in this JVM: a wrong token is
 * refused with the API's message; after login the demo connections are listed; events sent over
 * HTTP appear in the live tail (filter, pause) and in the counts; a sync updates the freshness; a
 * dead letter is readable with its reason and payload; a setting is edited through PATCH; a Kinesis
 * connection (kinesalite) shows its shards, the total line and its source settings with the secret
 * masked; a Kafka connection whose brokers do not answer says so; every section renders.
 * Screenshots of the main pages go to {@code target/console-screenshots/}.
 */
class ConsoleBrowserTest {
  private static final String TOKEN = "console-test-token-0123456789";
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static WeirNode node;
  private static NodeApi api;
  private static WebDriver browser;
  private static WebDriverWait wait;
  private static Path shots;
  private static String console;

  @BeforeAll
  static void start() throws Exception {
    assertThat(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER))
        .as(
            "The console test needs Debian's chromium and chromium-driver (%s and %s): install"
                + " them with 'apt-get install -y chromium chromium-driver' (.ci/run does)",
            CHROMIUM, CHROMEDRIVER)
        .isTrue();
    Path dataDir = Files.createTempDirectory("weir-console-test");
    node =
        TestNodes.inProcess(
            dataDir,
            Map.of(
                "weir.admin.token",
                TOKEN,
                "weir.demo.batch-interval-seconds",
                1,
                // Loads come from the Sync button, not the schedule.
                "weir.demo.sync-interval-seconds",
                3600));
    api = new NodeApi(node, TOKEN);
    console = "http://127.0.0.1:" + node.adminPort() + "/console/";
    shots = Path.of(System.getProperty("user.dir"), "target", "console-screenshots");
    Files.createDirectories(shots);

    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--user-data-dir=" + dataDir.resolve("chromium-profile"));
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .build();
    browser = new ChromeDriver(service, options);
    wait = new WebDriverWait(browser, Duration.ofSeconds(15));
    // The console redraws what changed every few seconds: an element found a moment ago may be
    // gone.
    wait.ignoring(StaleElementReferenceException.class);
  }

  @AfterAll
  static void stop() throws Exception {
    if (browser != null) browser.quit();
    if (node != null) node.stop(Duration.ofSeconds(30));
  }

  @Test
  void anOperatorLogsInWatchesEventsArriveSyncsReadsDeadLettersAndEditsSettings() throws Exception {
    // A wrong token: refused, with the API's own message.
    browser.get(console);
    type(By.id("token"), "wrong-token");
    browser.findElement(By.id("login-submit")).click();
    WebElement refused = wait.until(visible("#login-errors .error-box"));
    assertThat(refused.getText())
        .contains("unauthorized")
        .contains("Send the admin token as 'Authorization: Bearer <token>'.");
    assertThat(sessionToken()).isNull();
    assertThat(browser.findElement(By.id("logout")).isDisplayed()).isFalse();
    shot("login-refused");

    // The right one: the demo connections.
    type(By.id("token"), TOKEN);
    browser.findElement(By.id("login-submit")).click();
    wait.until(visible("tr[data-name='demo']"));
    wait.until(visible("tr[data-name='demo-segment']"));
    wait.until(visible("tr[data-name='demo-snowplow']"));
    assertThat(sessionToken()).isEqualTo(TOKEN);
    JsonNode demo = connectionNamed("demo");
    String id = demo.get("id").asText();
    String webhook = demo.at("/urls/webhook").asText();
    assertThat(text(By.cssSelector("tr[data-name='demo'] .accepted"))).isEqualTo("0");

    // A crafted link: an id from the hash never leaves its path segment (no request to another
    // admin route), for the connection page and for its live tail.
    org.openqa.selenium.JavascriptExecutor js = (org.openqa.selenium.JavascriptExecutor) browser;
    js.executeScript("location.hash = '#/nowhere';"); // a page that polls nothing
    wait.until(ExpectedConditions.textToBe(By.cssSelector("main h1"), "Not found"));
    js.executeScript(
        "window.requested = []; const f = window.fetch; window.fetch = (u, o) => {"
            + " window.requested.push(new URL(String(u), location.href).pathname);"
            + " return f(u, o); };");
    for (String crafted :
        List.of(
            "#/connections/..%2F..%2Fdestinations%2F" + demo.get("destination_id").asText(),
            "#/connections/..%2F..%2Fcluster/tail",
            "#/connections/%2E%2E%2F%2E%2E%2Fexports")) {
      js.executeScript(
          "document.getElementById('main').replaceChildren(); location.hash = arguments[0];",
          crafted);
      wait.until(visible("main .error-box"));
    }
    @SuppressWarnings("unchecked")
    List<String> requested = (List<String>) js.executeScript("return window.requested;");
    assertThat(requested).allSatisfy(p -> assertThat(p).startsWith("/v1/admin/connections/"));

    // The live tail: events appear once accepted; the filter narrows; pause holds them.
    browser.get(console + "#/connections/" + id + "/tail");
    wait.until(ExpectedConditions.textToBe(By.id("tail-state"), "Live"));
    for (int i = 1; i <= 3; i++)
      assertThat(post(webhook, "{\"event\":\"signup-" + i + "\",\"user\":\"ada\"}")).isEqualTo(200);
    wait.until(d -> d.findElements(By.cssSelector("#tail li")).size() == 3);
    assertThat(text(By.id("tail"))).contains("signup-3");
    type(By.id("tail-filter"), "signup-2");
    wait.until(d -> visibleTailItems() == 1);
    browser.findElement(By.id("tail-filter")).clear();
    type(By.id("tail-filter"), "");
    wait.until(d -> visibleTailItems() == 3);
    browser.findElement(By.id("tail-pause")).click();
    assertThat(post(webhook, "{\"event\":\"while-paused\",\"user\":\"bob\"}")).isEqualTo(200);
    eventually(
        Duration.ofSeconds(5),
        () ->
            assertThat(
                    api.admin("GET", "/v1/admin/connections/" + id + "/status", null)
                        .get("accepted_total")
                        .asLong())
                .isEqualTo(4));
    assertThat(browser.findElements(By.cssSelector("#tail li"))).hasSize(3);
    browser.findElement(By.id("tail-pause")).click();
    wait.until(d -> d.findElements(By.cssSelector("#tail li")).size() == 4);
    browser.findElement(By.cssSelector("#tail li summary")).click();
    shot("tail");

    // The connection page: counts changed; nothing loaded yet.
    browser.get(console + "#/connections/" + id);
    wait.until(ExpectedConditions.textToBe(By.id("accepted-total"), "4"));
    wait.until(ExpectedConditions.textToBe(By.id("last-load"), "never"));
    wait.until(ExpectedConditions.textToBe(By.id("buffered"), "0")); // flushed (1 s interval)

    // Sync now, confirmed: the freshness updates and the load is listed.
    browser.findElement(By.id("sync")).click();
    wait.until(visible("#confirm[open]"));
    browser.findElement(By.id("confirm-ok")).click();
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(By.tagName("main"), "Sync started."));
    wait.until(d -> !d.findElement(By.id("last-load")).getText().equals("never"));
    assertThat(attribute(By.id("last-load"), "class")).isEqualTo("fresh");
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(
            By.cssSelector("#loads tbody"), "complete"));

    // A dead letter: its reason and payload.
    assertThat(post(webhook, "[{\"event\":\"fine\"}, 42]")).isEqualTo(200);
    WebElement dead = wait.until(visible("#dead-letter-table tbody tr"));
    assertThat(dead.getText()).contains("42");
    assertThat(dead.findElement(By.cssSelector(".dead-message")).getText()).isNotBlank();
    shot("connection");

    // A setting edited through PATCH.
    WebElement batchSize = browser.findElement(By.id("setting-batch_size"));
    batchSize.clear();
    batchSize.sendKeys("250");
    browser.findElement(By.id("save-settings")).click();
    wait.until(
        ExpectedConditions.textToBe(
            By.cssSelector("#settings-result .ok-box"), "Saved: batch_size."));
    assertThat(api.admin("GET", "/v1/admin/connections/" + id, null).get("batch_size").asInt())
        .isEqualTo(250);
    // An invalid one: the API's error message.
    batchSize.clear();
    batchSize.sendKeys("5000000");
    browser.findElement(By.id("save-settings")).click();
    assertThat(wait.until(visible("#settings-result .error-box")).getText())
        .contains("invalid_field")
        .contains("batch_size");

    // A secret is shown masked, never in the page.
    String signed =
        api.admin(
                "POST",
                "/v1/admin/connections",
                "{\"name\":\"signed\",\"kind\":\"webhook\",\"destination_id\":\""
                    + demo.get("destination_id").asText()
                    + "\",\"signing_secret\":\"sig-SECRET-0987654321\"}")
            .get("id")
            .asText();
    browser.get(console + "#/connections/" + signed);
    WebElement secret = wait.until(visible("#setting-signing_secret"));
    assertThat(secret.getAttribute("placeholder")).isEqualTo("********");
    assertThat(secret.getAttribute("value")).isEmpty();
    assertThat(browser.getPageSource()).doesNotContain("sig-SECRET-0987654321");
    api.admin("DELETE", "/v1/admin/connections/" + signed, null);

    // The list shows the new counts.
    browser.get(console + "#/connections");
    wait.until(ExpectedConditions.textToBe(By.cssSelector("tr[data-name='demo'] .accepted"), "5"));
    browser.findElement(By.cssSelector("tr[data-name='demo'] details summary")).click();
    wait.until(visible("tr[data-name='demo'] details .copy-row button"));
    shot("connections");

    // Every other section renders from the API.
    String lake =
        api.admin(
                "POST",
                "/v1/admin/destinations",
                "{\"name\":\"lake\",\"type\":\"filesystem\",\"config\":{\"path\":\""
                    + Files.createTempDirectory("weir-console-lake")
                    + "\"}}")
            .get("id")
            .asText();
    api.admin(
        "POST",
        "/v1/admin/exports",
        "{\"connection_id\":\""
            + connectionNamed("demo-segment").get("id").asText()
            + "\",\"destination_id\":\""
            + lake
            + "\",\"type\":\"recurring\",\"name\":\"daily-events\"}");
    browser.get(console + "#/destinations");
    wait.until(visible("#destinations tbody tr[data-destination]"));
    assertThat(text(By.id("destinations")))
        .contains("local-warehouse")
        .contains("duckdb")
        .contains("healthy");
    shot("destinations");
    browser.get(console + "#/exports");
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(By.id("exports"), "daily-events"));
    browser.findElement(By.cssSelector("#exports tbody th button")).click();
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("export-summary"), "Size"));
    shot("exports");
    new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("filter-status")))
        .selectByValue("failed");
    browser.get(console + "#/connectors");
    wait.until(
        ExpectedConditions.textToBePresentInElementLocated(
            By.id("connector-jars"), "No connector uploaded"));
    shot("connectors");
    browser.get(console + "#/cluster");
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("members"), "Up"));
    shot("cluster");

    // Phone width: the list still reads.
    browser.manage().window().setSize(new Dimension(390, 844));
    browser.get(console + "#/connections");
    wait.until(visible("tr[data-name='demo']"));
    shot("connections-phone");
    browser.manage().window().setSize(new Dimension(1280, 900));

    // Logging out forgets the token.
    browser.findElement(By.id("logout")).click();
    wait.until(visible("#token"));
    assertThat(sessionToken()).isNull();
  }

  @Test
  void aKinesisConnectionShowsItsShardsAndItsSourceSettingsWithTheSecretMasked(
      @org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    try (Kinesalite kinesis = Kinesalite.start(dir.resolve("kinesalite.log"))) {
      kinesis.createStream("clicks", 2);
      kinesis.put("clicks", null, List.of("{\"n\":1}", "{\"n\":2}", "{\"n\":3}"));
      String id =
          api.admin(
                  "POST",
                  "/v1/admin/connections",
                  "{\"name\":\"clicks\",\"kind\":\"kinesis\",\"destination_id\":\""
                      + connectionNamed("demo").get("destination_id").asText()
                      + "\",\"source\":{\"stream\":\"clicks\",\"region\":\""
                      + Kinesalite.REGION
                      + "\",\"endpoint\":\""
                      + kinesis.endpoint()
                      + "\",\"access_key_id\":\""
                      + Kinesalite.ACCESS_KEY
                      + "\",\"secret_access_key\":\""
                      + Kinesalite.SECRET_KEY
                      + "\",\"start\":\"trim_horizon\",\"format\":\"json\"}}")
              .get("id")
              .asText();
      try {
        browser.get(console);
        ((org.openqa.selenium.JavascriptExecutor) browser)
            .executeScript("sessionStorage.setItem('weir.adminToken', arguments[0]);", TOKEN);
        browser.get(console + "#/connections");
        wait.until(
            ExpectedConditions.textToBePresentInElementLocated(
                By.cssSelector("tr[data-name='clicks'] .source-summary"), "stream clicks"));
        browser.get(console + "#/connections/" + id);
        wait.until(
            ExpectedConditions.textToBePresentInElementLocated(
                By.id("source-table"), "shardId-000000000001"));
        // The records are read: a shard shows its checkpoint and the total line counts them.
        wait.until(
            ExpectedConditions.textToBePresentInElementLocated(
                By.id("source-total"), "3 records read"));
        assertThat(browser.findElements(By.cssSelector("#source-table tbody tr"))).hasSize(2);
        assertThat(text(By.id("source-table"))).contains("reading");
        String settings = text(By.id("source-settings"));
        assertThat(settings)
            .contains("stream")
            .contains("clicks")
            .contains("secret_access_key")
            .contains("********")
            .doesNotContain(Kinesalite.SECRET_KEY);
        shot("connection-kinesis");
      } finally {
        api.call("DELETE", "/v1/admin/connections/" + id, null);
        ((org.openqa.selenium.JavascriptExecutor) browser)
            .executeScript("sessionStorage.removeItem('weir.adminToken');");
      }
    }
  }

  @Test
  void aKafkaConnectionWhoseBrokersDoNotAnswerSaysSoOnItsPage() throws Exception {
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    String id =
        api.admin(
                "POST",
                "/v1/admin/connections",
                "{\"name\":\"orders\",\"kind\":\"kafka\",\"destination_id\":\""
                    + connectionNamed("demo").get("destination_id").asText()
                    + "\",\"source\":{\"bootstrap_servers\":\"127.0.0.1:"
                    + closed
                    + "\",\"topics\":[\"orders\",\"refunds\"]}}")
            .get("id")
            .asText();
    try {
      browser.get(console);
      ((org.openqa.selenium.JavascriptExecutor) browser)
          .executeScript("sessionStorage.setItem('weir.adminToken', arguments[0]);", TOKEN);
      // Straight to its page: each status of it waits for the brokers' 5 s timeout.
      browser.get(console + "#/connections/" + id);
      wait.until(visible("#source-error"));
      assertThat(text(By.id("source-error"))).contains("the brokers did not answer");
      assertThat(text(By.id("source-table"))).contains("No partitions: the brokers did not say");
      assertThat(text(By.id("source-total"))).contains("0 partitions");
      assertThat(text(By.id("source-settings")))
          .contains("bootstrap_servers")
          .contains("orders, refunds");
    } finally {
      api.call("DELETE", "/v1/admin/connections/" + id, null);
      ((org.openqa.selenium.JavascriptExecutor) browser)
          .executeScript("sessionStorage.removeItem('weir.adminToken');");
    }
  }

  @Test
  void staticFilesNeedNoTokenButHoldNoDataAndNothingOutsideTheConsoleIsServed() throws Exception {
    String base = "http://127.0.0.1:" + node.adminPort();
    HttpResponse<String> page = get(base + "/console/", null);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
    assertThat(page.headers().firstValue("Content-Security-Policy").orElse(""))
        .contains("script-src 'self'");
    assertThat(get(base + "/console/app.js", null).headers().firstValue("Content-Type").orElse(""))
        .contains("javascript");
    assertThat(get(base + "/console/console.css", null).headers().firstValue("Content-Type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("text/css"));
    assertThat(get(base + "/console", null).statusCode()).isEqualTo(308);
    for (String path :
        List.of(
            "/console/../weir/openapi.json",
            "/console/..%2Fweir%2Fopenapi.json",
            "/console/%2e%2e/application.conf",
            "/console/weir/console/app.js",
            "/console/nothing.js",
            "/console/application.conf")) {
      HttpResponse<String> r = get(base + path, null);
      assertThat(r.statusCode()).as(path).isEqualTo(404);
      assertThat(Json.MAPPER.readTree(r.body()).at("/error/code").asText()).isEqualTo("not_found");
    }
    // The console's data calls are the API's: refused without the token.
    String id = connectionNamed("demo").get("id").asText();
    for (String path : List.of("/activity", "/tail", "/status")) {
      HttpResponse<String> r = get(base + "/v1/admin/connections/" + id + path, null);
      assertThat(r.statusCode()).as(path).isEqualTo(401);
      assertThat(Json.MAPPER.readTree(r.body()).at("/error/code").asText())
          .isEqualTo("unauthorized");
    }
    JsonNode activity = api.admin("GET", "/v1/admin/connections/" + id + "/activity", null);
    assertThat(activity.get("minutes")).hasSize(60);
  }

  // ---- helpers ----

  private static JsonNode connectionNamed(String name) throws Exception {
    for (JsonNode c : api.admin("GET", "/v1/admin/connections", null).get("connections"))
      if (c.get("name").asText().equals(name)) return c;
    throw new AssertionError("no connection " + name);
  }

  private static int post(String url, String body) throws Exception {
    return NodeApi.post(url, body, null);
  }

  private static HttpResponse<String> get(String url, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
    if (token != null) b.header("Authorization", "Bearer " + token);
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static Shown visible(String css) {
    return new Shown(By.cssSelector(css));
  }

  /** Waits until an element matching the selector is displayed; returns it. */
  private record Shown(By by) implements java.util.function.Function<WebDriver, WebElement> {
    @Override
    public WebElement apply(WebDriver d) {
      for (WebElement e : d.findElements(by)) if (e.isDisplayed()) return e;
      return null;
    }
  }

  private static void type(By by, String text) {
    WebElement e = wait.until(d -> d.findElement(by));
    e.clear();
    if (!text.isEmpty()) e.sendKeys(text);
    else e.sendKeys(" ", org.openqa.selenium.Keys.BACK_SPACE);
  }

  private static long visibleTailItems() {
    return browser.findElements(By.cssSelector("#tail li")).stream()
        .filter(WebElement::isDisplayed)
        .count();
  }

  private static Object sessionToken() {
    return ((org.openqa.selenium.JavascriptExecutor) browser)
        .executeScript("return sessionStorage.getItem('weir.adminToken');");
  }

  /** A screenshot of the whole page (the window grown to the page's height, then put back). */
  private static void shot(String name) throws Exception {
    Dimension before = browser.manage().window().getSize();
    long height =
        (Long)
            ((org.openqa.selenium.JavascriptExecutor) browser)
                .executeScript(
                    "return Math.ceil(document.querySelector('main').getBoundingClientRect().bottom"
                        + " + window.scrollY);");
    browser
        .manage()
        .window()
        .setSize(
            new Dimension(before.getWidth(), (int) Math.min(4000, Math.max(640, height + 160))));
    File f = ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Files.copy(
        f.toPath(),
        shots.resolve(name + ".png"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /** The text of the element {@code by} finds, found again if a redraw replaced it meanwhile. */
  private static String text(By by) {
    return again(() -> browser.findElement(by).getText());
  }

  /** An attribute of the element {@code by} finds, found again if a redraw replaced it. */
  private static String attribute(By by, String name) {
    return again(() -> browser.findElement(by).getAttribute(name));
  }

  private static String again(java.util.function.Supplier<String> read) {
    for (int attempt = 1; ; attempt++) {
      try {
        return read.get();
      } catch (StaleElementReferenceException e) {
        if (attempt == 5) throw e;
      }
    }
  }
}

package weir.protocol.webhook;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class WebhookSignatureTest {
  private final byte[] body = "{\"a\":1}".getBytes(StandardCharsets.UTF_8);

  @Test
  void matchesTheHmacOfTheRawBody() {
    // Reference value computed independently: printf '{"a":1}' | openssl dgst -sha256 -hmac s3cret
    assertThat(WebhookSignature.sign("s3cret", body))
        .isEqualTo("sha256=5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d");
    assertThat(WebhookSignature.verify("s3cret", body, WebhookSignature.sign("s3cret", body)))
        .isTrue();
    assertThat(
            WebhookSignature.verify(
                "s3cret",
                body,
                WebhookSignature.sign("s3cret", body).toUpperCase().replace("SHA256=", "sha256=")))
        .isTrue();
  }

  @Test
  void rejectsOtherBodiesSecretsAndMalformedHeaders() {
    String good = WebhookSignature.sign("s3cret", body);
    assertThat(WebhookSignature.verify("other", body, good)).isFalse();
    assertThat(
            WebhookSignature.verify("s3cret", "{\"a\":2}".getBytes(StandardCharsets.UTF_8), good))
        .isFalse();
    assertThat(WebhookSignature.verify("s3cret", body, null)).isFalse();
    assertThat(WebhookSignature.verify("s3cret", body, good.substring(7))).isFalse();
    assertThat(WebhookSignature.verify("s3cret", body, "sha256=zz")).isFalse();
  }
}

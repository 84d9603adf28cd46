package weir.protocol;

/**
 * Why one element of a request was not accepted. The element itself is kept as a dead letter.
 *
 * @param index position of the element in the request (0 for single-event bodies)
 * @param code snake_case reason, stable for clients
 * @param message a human sentence
 * @param payload the raw element as received (truncated by the caller where it must be)
 */
public record Rejection(int index, String code, String message, String payload) {}

package weir.node.admin;

import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.model.headers.RawHeader;
import akka.http.javadsl.server.Route;
import java.util.List;
import java.util.regex.Pattern;
import weir.node.http.ApiErrors;

/**
 * {@code /console}: the operator console's static files (HTML, JavaScript, CSS and SVG from {@code
 * weir/console/} in the node's resources), served without auth because they hold no data; every
 * figure the page shows comes from the management API with the admin token the operator types in.
 * Only plain file names of the known kinds are served (no directories, no {@code ..}); answers
 * carry a Content-Security-Policy that allows scripts and connections to this origin only.
 */
final class ConsoleRoutes extends AdminSupport {
  static final String RESOURCES = "weir/console";
  private static final Pattern FILE =
      Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]*\\.(?:html|js|css|svg|png|ico)");
  private static final List<akka.http.javadsl.model.HttpHeader> HEADERS =
      List.of(
          RawHeader.create(
              "Content-Security-Policy",
              "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
                  + " connect-src 'self'; form-action 'self'; frame-ancestors 'none';"
                  + " base-uri 'none'"),
          RawHeader.create("X-Content-Type-Options", "nosniff"),
          RawHeader.create("Referrer-Policy", "no-referrer"),
          RawHeader.create("Cache-Control", "no-cache"));

  Route route() {
    return pathPrefix(
        "console",
        () ->
            get(
                () ->
                    concat(
                        pathEnd(
                            () ->
                                redirect(
                                    akka.http.javadsl.model.Uri.create("/console/"),
                                    StatusCodes.PERMANENT_REDIRECT)),
                        pathSingleSlash(
                            () ->
                                respondWithHeaders(
                                    HEADERS, () -> getFromResource(RESOURCES + "/index.html"))),
                        path(
                            akka.http.javadsl.server.PathMatchers.segment(FILE),
                            file ->
                                respondWithHeaders(
                                    HEADERS, () -> getFromResource(RESOURCES + "/" + file))),
                        complete(
                            ApiErrors.response(
                                StatusCodes.NOT_FOUND, "not_found", "No such console file.")))));
  }
}

// Sign wire bodies the way DollarPe's Java snippet does (signatures.md §2.2
// item 11): apiKey + "|" + timestamp + "|" +
// objectMapper.writeValueAsString(new TreeMap<>(body)), HMAC-SHA256 with the
// API secret, base64. Used by crosslang_test.go, and to write
// java_vectors.json.
//
// Needs a JDK (11 or later runs a single source file directly) and Jackson
// databind, core and annotations; on Debian: apt-get install
// default-jdk-headless libjackson2-databind-java. Nothing is compiled into
// the tree:
//
//   CP=/usr/share/java/jackson-databind.jar:/usr/share/java/jackson-core.jar:/usr/share/java/jackson-annotations.jar
//   java -cp $CP Sign.java API_KEY API_SECRET TIMESTAMP < cases
//       stdin:  one case per line, "name<TAB>base64(exact wire bytes)"
//       stdout: one JSON object per line: {"case", "signer": "java_docs",
//               "sends": base64(body on the wire), "signs": base64(string
//               signed), "signature"}
//   java -cp $CP Sign.java --write java_vectors.json
//       recomputes sends, signs and signature of every case of the file from
//       its "wire", keeping everything else (the expected Verify outcomes
//       are ours, not Jackson's, so they are written by hand).
//
// The client is modelled as holding the body as the maps Jackson parses the
// wire into (LinkedHashMap in wire order, Integer/Long/BigInteger and
// Double), sending objectMapper.writeValueAsString(body) and signing the
// TreeMap copy. Both strings come from the same maps and the same default
// ObjectMapper, so nested maps and numbers are written identically in both:
// only the top level is reordered.
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public class Sign {
    static final String SIGNER = "java_docs";

    // The vendor snippet's mapper: new ObjectMapper(), all defaults.
    static final ObjectMapper MAPPER = new ObjectMapper();
    // Only to notice duplicate keys, which the default mapper resolves
    // silently (last value wins, at the first key's position).
    static final ObjectMapper STRICT = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    record Signed(String sends, String signs, String signature) {}

    static String hmac(String apiKey, String apiSecret, String timestamp, String bodyStr) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(apiSecret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        String message = apiKey + "|" + timestamp + "|" + bodyStr;
        return Base64.getEncoder().encodeToString(mac.doFinal(message.getBytes(StandardCharsets.UTF_8)));
    }

    @SuppressWarnings("unchecked")
    static Signed sign(String apiKey, String apiSecret, String timestamp, byte[] wire) throws Exception {
        Object body;
        boolean duplicate = false;
        try {
            body = STRICT.readValue(wire, Object.class);
        } catch (JsonParseException e) {
            if (!e.getMessage().startsWith("Duplicate field")) {
                throw e;
            }
            duplicate = true;
            body = MAPPER.readValue(wire, Object.class);
        }
        // A client cannot put a duplicate key on the wire from a Map: that
        // raw body is the attack being tested, so it is what is sent.
        String sends = duplicate ? new String(wire, StandardCharsets.UTF_8) : MAPPER.writeValueAsString(body);
        // new TreeMap<>(body) needs a Map; a body that is a List or a scalar
        // (not something DollarPe's API takes) is signed as it is sent.
        Object signed = body instanceof Map ? new TreeMap<>((Map<String, Object>) body) : body;
        String signs = MAPPER.writeValueAsString(signed);
        return new Signed(sends, signs, hmac(apiKey, apiSecret, timestamp, signs));
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 2 && args[0].equals("--write")) {
            write(Path.of(args[1]));
            return;
        }
        if (args.length != 3) {
            System.err.println("usage: Sign.java API_KEY API_SECRET TIMESTAMP < cases | Sign.java --write FILE");
            System.exit(2);
        }
        Base64.Encoder b64 = Base64.getEncoder();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isEmpty()) {
                continue;
            }
            String[] f = line.split("\t", 2);
            Signed s = sign(args[0], args[1], args[2], Base64.getDecoder().decode(f[1]));
            Map<String, String> r = new LinkedHashMap<>();
            r.put("case", f[0]);
            r.put("signer", SIGNER);
            r.put("sends", b64.encodeToString(s.sends().getBytes(StandardCharsets.UTF_8)));
            r.put("signs", b64.encodeToString(s.signs().getBytes(StandardCharsets.UTF_8)));
            r.put("signature", s.signature());
            out.append(MAPPER.writeValueAsString(r)).append('\n');
        }
        System.out.write(out.toString().getBytes(StandardCharsets.UTF_8));
        System.out.flush();
    }

    // write regenerates the Jackson-produced fields of a vector file in place.
    static void write(Path path) throws Exception {
        JsonNode file = MAPPER.readTree(Files.readAllBytes(path));
        String key = file.get("api_key").asText(), secret = file.get("api_secret").asText(), ts = file.get("timestamp").asText();
        StringBuilder b = new StringBuilder("{\n");
        for (String k : new String[] {"comment", "api_key", "api_secret", "timestamp"}) {
            b.append("  ").append(q(k)).append(": ").append(q(file.get(k).asText())).append(",\n");
        }
        b.append("  \"cases\": [\n");
        for (Iterator<JsonNode> it = file.get("cases").elements(); it.hasNext(); ) {
            JsonNode c = it.next();
            Signed s = sign(key, secret, ts, c.get("wire").asText().getBytes(StandardCharsets.UTF_8));
            JsonNode old = c.path("signers").path(0);
            b.append("    {\n");
            b.append("      \"name\": ").append(q(c.get("name").asText())).append(",\n");
            b.append("      \"wire\": ").append(q(c.get("wire").asText())).append(",\n");
            if (c.has("note")) {
                b.append("      \"note\": ").append(q(c.get("note").asText())).append(",\n");
            }
            b.append("      \"signers\": [\n        {\n");
            b.append("          \"signer\": ").append(q(SIGNER)).append(",\n");
            b.append("          \"sends\": ").append(q(s.sends())).append(",\n");
            b.append("          \"signs\": ").append(q(s.signs())).append(",\n");
            b.append("          \"signature\": ").append(q(s.signature())).append(",\n");
            b.append("          \"strict\": ").append(q(old.path("strict").asText())).append(",\n");
            b.append("          \"allow_js_replacer\": ").append(q(old.path("allow_js_replacer").asText())).append("\n");
            b.append("        }\n      ]\n    }").append(it.hasNext() ? ",\n" : "\n");
        }
        b.append("  ]\n}\n");
        Files.write(path, b.toString().getBytes(StandardCharsets.UTF_8));
    }

    static String q(String s) throws Exception {
        return MAPPER.writeValueAsString(s);
    }
}

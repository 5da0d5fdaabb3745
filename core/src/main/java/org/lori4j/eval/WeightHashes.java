package org.lori4j.eval;

import org.lori4j.io.LoriException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** SHA-256 of the weight files of a model or adapter folder, recorded in results.json to identify what was evaluated. */
public final class WeightHashes {
    private WeightHashes() {}

    /** Weight files of a folder: *.safetensors, *.bin, *.pt, *.gguf (not masks/ or other subfolders), by name. */
    public static Map<String, String> of(Path dir) {
        if (!Files.isDirectory(dir)) throw new LoriException(dir + ": not a folder");
        Map<String, String> out = new TreeMap<>();
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(p -> {
                String n = p.getFileName().toString();
                return n.endsWith(".safetensors") || n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".gguf");
            }).toList();
        } catch (IOException e) {
            throw new LoriException(dir + ": cannot list: " + e.getMessage());
        }
        for (Path f : files) out.put(f.getFileName().toString(), sha256(f));
        return out;
    }

    /** The SHA-256 of a file as lower-case hex. */
    public static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) > 0) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new LoriException(file + ": cannot read: " + LoriException.reason(e));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

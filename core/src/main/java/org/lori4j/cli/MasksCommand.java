package org.lori4j.cli;

import org.lori4j.adapter.LoraAdapter;
import org.lori4j.adapter.Masks;
import org.lori4j.io.LoriException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code lori masks}: LoRI mask extraction from a LoRI-D adapter's B matrices. */
@Command(name = "masks", mixinStandardHelpOptions = true,
        description = {"Extract LoRI masks from the B matrices of a (LoRI-D) adapter.",
                "Within each group of n entries keep |B| >= the k-th largest |B|, k = int((1 - s) * n).",
                "Writes <s>_mask.safetensors (BOOL tensors keyed by the lora_B names) into DIR/masks or --out."})
public final class MasksCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--adapter", required = true, paramLabel = "DIR", description = "adapter folder")
    Path adapter;

    @Option(names = "--sparsity", required = true, split = ",", paramLabel = "S", description = "sparsity ratios in (0, 1), comma-separated, e.g. 0.1,0.5,0.9,0.99")
    List<String> sparsities;

    @Option(names = "--granularity", defaultValue = "model", paramLabel = "G",
            description = "model (default), module, projection, layer or matrix")
    String granularity;

    @Option(names = "--exclude", paramLabel = "MASK", description = "an earlier mask (.safetensors or LoRI .pt) whose entries are excluded (continual learning)")
    Path exclude;

    @Option(names = "--out", paramLabel = "DIR", description = "output folder (default: ADAPTER/masks)")
    Path out;

    @Option(names = "--format", defaultValue = "both", paramLabel = "safetensors|pt|both",
            description = "safetensors (BOOL tensors keyed by lora_B names), pt (torch.save dict keyed by "
                    + "...lora_B.default.weight, as LoRI's reference writes and reads), or both (default)")
    String format;

    @Override
    public Integer call() {
        double[] s = new double[sparsities.size()];
        for (int i = 0; i < s.length; i++) {
            try {
                s[i] = Double.parseDouble(sparsities.get(i).trim());
            } catch (NumberFormatException e) {
                throw new LoriException("--sparsity: '" + sparsities.get(i) + "' is not a number");
            }
            if (!(s[i] > 0 && s[i] < 1)) throw new LoriException("--sparsity: " + sparsities.get(i) + " is outside (0, 1)");
        }
        Masks.Granularity g = Masks.Granularity.parse(granularity);
        boolean st = format.equals("safetensors") || format.equals("both"), pt = format.equals("pt") || format.equals("both");
        if (!st && !pt) throw new LoriException("--format: expected safetensors, pt or both, got '" + format + "'");
        LoraAdapter ad = LoraAdapter.load(adapter);
        List<Masks.BMatrix> bs = new ArrayList<>();
        for (LoraAdapter.Module m : ad.modules().values()) bs.add(new Masks.BMatrix(m.keyB(), m.out(), m.r(), m.b()));
        Map<String, Masks.Mask> old = exclude == null ? null : Masks.read(exclude);
        List<Masks.Result> results;   // everything is computed before anything is written
        try {
            results = Masks.extract(bs, s, g, old);
        } catch (LoriException e) {   // the library does not know the files: name them
            throw new LoriException(adapter + (exclude != null ? " with --exclude " + exclude : "") + ": " + e.getMessage(), e);
        }
        Path dir = out != null ? out : adapter.resolve("masks");
        PrintWriter pw = spec.commandLine().getOut();
        for (Masks.Result r : results) {
            Path file = dir.resolve(st ? Masks.fileName(r.sparsity()) : Masks.ptFileName(r.sparsity()));
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("format", "lori4j-mask");
            meta.put("sparsity", Masks.pyRepr(r.sparsity()));
            meta.put("granularity", g.name().toLowerCase(Locale.ROOT));
            if (exclude != null) meta.put("exclude", exclude.toString());
            if (st) Masks.write(file, r.masks(), meta);
            if (pt) Masks.writePt(dir.resolve(Masks.ptFileName(r.sparsity())), r.masks());
            pw.printf(Locale.ROOT, "sparsity %s (%s): kept %,d of %,d entries, sparsity reached %.4f -> %s%n",
                    Masks.pyRepr(r.sparsity()), meta.get("granularity"), r.kept(), r.entries(), r.reached(), file);
            if (r.groups().size() > 1 || g != Masks.Granularity.MODEL) {
                for (Masks.GroupStat gs : r.groups())
                    pw.printf(Locale.ROOT, "  %-24s n %,d  k %,d  threshold %.6g  kept %,d  sparsity %.4f%n",
                            shortName(gs.group()), gs.entries(), gs.k(), gs.threshold(), gs.kept(), gs.sparsity());
            } else {
                Masks.GroupStat gs = r.groups().getFirst();
                pw.printf(Locale.ROOT, "  k %,d  threshold %.6g%n", gs.k(), gs.threshold());
            }
        }
        pw.flush();
        return 0;
    }

    private static String shortName(String group) {
        return group.startsWith(LoraAdapter.PREFIX) ? group.substring(LoraAdapter.PREFIX.length()).replace(".lora_B.weight", "") : group;
    }
}

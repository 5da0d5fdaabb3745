package org.lori4j.spark;

import org.lori4j.train.DataOptions;
import org.lori4j.train.TrainConfig;
import org.lori4j.train.TrainModel;
import org.lori4j.train.TrainRun;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.List;

/**
 * A {@link TrainRun.Request} as values that travel to the workers (paths as strings; a worker never resumes or
 * writes, so those fields stay behind). Equal jobs build equal setups, which is what lets an executor keep one.
 */
record TrainJob(String modelDir, List<String> dataFiles, TrainConfig config, DataOptions data, String initAdapter,
                String mask, Integer rank, Double alpha, boolean rslora, List<String> targets, Long seed,
                TrainModel.Checkpointing checkpointing) implements Serializable {

    TrainJob {
        dataFiles = List.copyOf(dataFiles);
        targets = targets == null ? null : List.copyOf(targets);
    }

    static TrainJob of(TrainRun.Request r) {
        return new TrainJob(abs(r.modelDir()), r.dataFiles().stream().map(TrainJob::abs).toList(), r.config(), r.data(),
                r.initAdapter() == null ? null : abs(r.initAdapter()), r.mask() == null ? null : abs(r.mask()),
                r.rank(), r.alpha(), r.rslora(), r.targets(), r.seed(), r.checkpointing());
    }

    /** The request a worker builds its setup from (its output folder is never written). */
    TrainRun.Request request() {
        return new TrainRun.Request(Path.of(modelDir), dataFiles.stream().map(Path::of).toList(), Path.of(modelDir), config, data,
                initAdapter == null ? null : Path.of(initAdapter), mask == null ? null : Path.of(mask), rank, alpha, rslora,
                targets, seed, false, checkpointing);
    }

    private static String abs(Path p) { return p.toAbsolutePath().normalize().toString(); }
}

// Runs one UpscalerJS model on TensorFlow.js's pure-JS CPU backend: the
// reference that tests/unit/test_tfjs_sources.py compares our conversion with.
//
// usage: node run_upscalerjs.cjs INPUT.bin HEIGHT WIDTH OUT_DIR PACKAGE_DIR...
//   INPUT.bin: float32 little-endian RGB in [0, 1], HWC. For every scale S a
//   package holds (models/xS/), writes OUT_DIR/<package name>-xS.bin: the same
//   layout at S x the size, mapped back to [0, 1] (not clipped). One process
//   for all models: loading tfjs costs seconds.
// The package's own model definition (its cjs build) supplies the custom
// layers (setup) and the input/output ranges, so none of them is restated here.
"use strict";
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs");

function modelDefinition(packageDir, scale) {
  const modelsRoot = path.resolve(packageDir, "dist", "cjs", "models");
  const [name] = fs.readdirSync(modelsRoot);
  return require(path.join(modelsRoot, name, "src", `x${scale}`, "cjs.js"));
}

// A tf.io handler reading model.json and its shards from disk (tfjs's own
// file:// handler lives in tfjs-node, a native build we do not want).
function fileHandler(modelJson) {
  return {
    load: async () => {
      const spec = JSON.parse(fs.readFileSync(modelJson, "utf8"));
      const weightSpecs = [];
      const buffers = [];
      for (const group of spec.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const shard of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelJson), shard)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: spec.modelTopology,
        format: spec.format,
        generatedBy: spec.generatedBy,
        convertedBy: spec.convertedBy,
        weightSpecs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

async function runOne(packageDir, scale, pixels, h, w) {
  const definition = modelDefinition(packageDir, scale);
  if (definition.setup) definition.setup(tf);
  const model = await tf.loadLayersModel(fileHandler(path.join(packageDir, definition._internals.path)));
  const out = tf.tidy(() => {
    const x = tf.tensor4d(pixels, [1, h, w, 3]).mul(definition.inputRange[1]);
    return model.predict(x).div(definition.outputRange[1]);
  });
  const data = await out.data();
  out.dispose();
  model.dispose();
  return data;
}

async function main() {
  const [inputPath, hArg, wArg, outDir, ...packageDirs] = process.argv.slice(2);
  const [h, w] = [Number(hArg), Number(wArg)];
  await tf.setBackend("cpu");
  const raw = fs.readFileSync(inputPath);
  const pixels = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + h * w * 3 * 4));
  for (const packageDir of packageDirs) {
    const name = JSON.parse(fs.readFileSync(path.join(packageDir, "package.json"), "utf8")).name.split("/").pop();
    for (const entry of fs.readdirSync(path.join(packageDir, "models")).sort()) {
      const scale = Number(entry.slice(1));
      const data = await runOne(packageDir, scale, pixels, h, w);
      if (tf.getBackend() !== "cpu") throw new Error(`ran on ${tf.getBackend()}, not cpu`);
      fs.writeFileSync(path.join(outDir, `${name}-x${scale}.bin`), Buffer.from(data.buffer));
      console.log(JSON.stringify({ model: `${name}-x${scale}`, backend: tf.getBackend(), tfjs: tf.version.tfjs }));
    }
  }
}

main().catch((err) => {
  console.error(err.stack || String(err));
  process.exit(1);
});

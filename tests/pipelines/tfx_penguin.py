"""The canonical TFX penguin pipeline, for the TFX tests: its data, its module file, its compile.

Run inside the tfx environment, `python tfx_penguin.py DATA_DIR PIPELINE_ROOT OUTPUT_JSON
NAME` writes penguin CSV data into DATA_DIR (unless it holds some already) and compiles
CsvExampleGen → StatisticsGen → SchemaGen → ExampleValidator → Transform → Trainer (Keras)
→ Evaluator (blessing) → Pusher with `KubeflowV2DagRunner`, as a Vertex AI user would. The same file is the module file of
Transform and Trainer (`preprocessing_fn`, `run_fn`): the model is tiny and trains for a
few steps, and its `serving_default` signature takes raw feature values (one float input
per feature, the Transform layer inside), so a served model answers Vertex-style instances.
What needs tfx is imported inside the functions: the tests import this file's constants.
"""

import csv
import os
import random
import sys

FEATURES = ["culmen_length_mm", "culmen_depth_mm", "flipper_length_mm", "body_mass_g"]
LABEL = "species"
CENTRES = [(39.0, 18.3, 190.0, 3700.0), (48.8, 18.4, 196.0, 3730.0), (47.5, 15.0, 217.0, 5080.0)]
"""Mean measurements of Adélie, Chinstrap and Gentoo penguins: well apart, easily learnt."""
MODEL_NAME = "penguin-classifier"
"""The registry model the Pusher's SavedModel is registered under (its `custom_config`)."""


def write_data(folder, rows=240, seed=0):
    """Penguin-like rows (four measurements and a species index) as `data.csv`."""
    generator = random.Random(seed)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "data.csv"), "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([LABEL, *FEATURES])
        for index in range(rows):
            species = index % 3
            spread = (1.0, 0.5, 3.0, 150.0)
            values = [round(generator.gauss(m, s), 2) for m, s in zip(CENTRES[species], spread)]
            writer.writerow([species, *values])


def _xf(key):
    return f"{key}_xf"


def preprocessing_fn(inputs):
    """Transform: each measurement scaled to a z-score; the label as it is."""
    import tensorflow_transform as tft

    outputs = {_xf(key): tft.scale_to_z_score(inputs[key]) for key in FEATURES}
    outputs[_xf(LABEL)] = inputs[LABEL]
    return outputs


def run_fn(fn_args):
    """Trainer: a one-layer Keras model, saved with raw-feature and tf.Example signatures."""
    import tensorflow as tf
    import tensorflow_transform as tft
    from tfx_bsl.public import tfxio

    transform = tft.TFTransformOutput(fn_args.transform_output)

    def dataset(files):
        options = tfxio.TensorFlowDatasetOptions(batch_size=16, label_key=_xf(LABEL))
        schema = transform.transformed_metadata.schema
        return fn_args.data_accessor.tf_dataset_factory(files, options, schema).repeat()

    inputs = [tf.keras.layers.Input(shape=(1,), name=_xf(key)) for key in FEATURES]
    hidden = tf.keras.layers.Dense(8, activation="relu")(tf.keras.layers.concatenate(inputs))
    model = tf.keras.Model(inputs=inputs, outputs=tf.keras.layers.Dense(3)(hidden))
    model.compile(
        optimizer=tf.keras.optimizers.Adam(0.05),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[tf.keras.metrics.SparseCategoricalAccuracy()],
    )
    model.fit(
        dataset(fn_args.train_files),
        steps_per_epoch=fn_args.train_steps,
        validation_data=dataset(fn_args.eval_files),
        validation_steps=fn_args.eval_steps,
        verbose=2,
    )
    model.tft_layer = transform.transform_features_layer()

    def predict(raw):
        transformed = model.tft_layer(raw)
        logits = model([transformed[_xf(key)] for key in FEATURES])
        return {"scores": tf.nn.softmax(logits), "classes": tf.argmax(logits, axis=1)}

    @tf.function(input_signature=[{k: tf.TensorSpec([None], tf.float32, k) for k in FEATURES}])
    def serve_raw(features):
        return predict({k: tf.reshape(v, [-1, 1]) for k, v in features.items()})

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized):
        spec = transform.raw_feature_spec()
        spec.pop(LABEL)
        return predict(tf.io.parse_example(serialized, spec))

    signatures = {
        "serving_default": serve_raw.get_concrete_function(),
        "serving_examples": serve_examples.get_concrete_function(),
    }
    tf.saved_model.save(model, fn_args.serving_model_dir, signatures=signatures)


def compile_pipeline(data_dir, pipeline_root, output, name):
    """The penguin pipeline compiled for Vertex AI by `KubeflowV2DagRunner` into `output`."""
    import tensorflow_model_analysis as tfma
    from tfx import v1 as tfx

    module_file = os.path.abspath(__file__)
    example_gen = tfx.components.CsvExampleGen(input_base=data_dir)
    statistics = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema = tfx.components.SchemaGen(statistics=statistics.outputs["statistics"])
    validator = tfx.components.ExampleValidator(
        statistics=statistics.outputs["statistics"], schema=schema.outputs["schema"]
    )
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema.outputs["schema"],
        module_file=module_file,
    )
    trainer = tfx.components.Trainer(
        module_file=module_file,
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=40),
        eval_args=tfx.proto.EvalArgs(num_steps=5),
    )
    accuracy = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": 0.5})
    )
    eval_config = tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(label_key=LABEL, signature_name="serving_examples")],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="SparseCategoricalAccuracy", threshold=accuracy)
                ]
            )
        ],
    )
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        eval_config=eval_config,
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        custom_config={"conveyor_model_name": MODEL_NAME},
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(
                base_directory=os.path.join(pipeline_root, "serving_model")
            )
        ),
    )
    pipeline = tfx.dsl.Pipeline(
        pipeline_name=name,
        pipeline_root=pipeline_root,
        components=[
            example_gen,
            statistics,
            schema,
            validator,
            transform,
            trainer,
            evaluator,
            pusher,
        ],
        enable_cache=True,
        beam_pipeline_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"],
    )
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(),
        output_dir=os.path.dirname(os.path.abspath(output)),
        output_filename=os.path.basename(output),
    )
    runner.run(pipeline, write_out=True)


if __name__ == "__main__":
    data, root, out, pipeline_name = [*map(os.path.abspath, sys.argv[1:4]), sys.argv[4]]
    if not os.path.exists(os.path.join(data, "data.csv")):
        write_data(data)
    compile_pipeline(data, root, out, pipeline_name)

//! The end-to-end walk (`make demo`) as a test: every function under `cargo lambda watch`, S3
//! notifications and the job messages reaching the transcoder through the local poller and the
//! Lambda invoke API, all against a database and moto buckets/queues of the test's own.

use std::process::Stdio;
use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use hound_testing::{
    ProcessGroup, TestAws, TestDb, WORKSPACE, Watch, aws_endpoint, gate_env, jwt_env, stripe_base,
};

#[tokio::test]
async fn the_demo_walk_passes_end_to_end() {
    let db = TestDb::new().await;
    let aws = TestAws::new().await;
    let sqs = aws.queue.client().await;
    let queue_url = aws.queue.transcode_queue_url.clone();
    let dlq_url = sqs
        .create_queue()
        .queue_name(format!("{}-dlq", queue_url.rsplit('/').next().unwrap()))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let redrive = serde_json::json!({"deadLetterTargetArn": aws.queue.arn_of(&dlq_url).await.unwrap(), "maxReceiveCount": 3});
    sqs.set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .unwrap();
    let queue_arn = aws.queue.arn_of(&queue_url).await.unwrap();
    for bucket in [&aws.storage.masters_bucket, &aws.storage.covers_bucket] {
        aws.storage
            .notify_on_create(bucket, &queue_arn)
            .await
            .unwrap();
    }

    let mut env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("AWS_ENDPOINT_URL", aws_endpoint()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("MASTERS_BUCKET", aws.storage.masters_bucket.clone()),
        ("COVERS_BUCKET", aws.storage.covers_bucket.clone()),
        ("STREAMS_BUCKET", aws.storage.streams_bucket.clone()),
        ("TRANSCODE_QUEUE_URL", queue_url.clone()),
        // Verified on moto by TestAws: the worker and the schedule mail as it.
        ("NOTIFY_FROM", hound_testing::TEST_SENDER.into()),
        ("LOG_FORMAT", "json".into()),
    ];
    env.extend(jwt_env("e2e"));
    env.extend(gate_env());
    env.extend([
        ("STRIPE_API_BASE", stripe_base()),
        ("STRIPE_SECRET_KEY", "sk_test_e2e".into()),
        ("STRIPE_WEBHOOK_SECRETS", "whsec_e2e".into()),
    ]);
    // The first request to each HTTP function builds it under watch: pay that before the walk
    // (whose requests have timeouts of their own).
    let ready = ["/v1/listener/home", "/v1/auth/me", "/v1/studio/profile"];
    let watch = Watch::start(&env, &ready, Duration::from_secs(900)).await;
    let base = watch.base.clone();
    let log_path = watch.log_path.clone();
    let poller = tokio::process::Command::new(env!("CARGO_BIN_EXE_hound"))
        .args(["local-poller", "--invoke-url", &base])
        .args(["--route", &format!("{queue_url}=transcoder")])
        .args(["--route", &format!("{dlq_url}=dead-letter")])
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(watch.log())
        .stderr(watch.log())
        .process_group(0)
        .spawn()
        .unwrap();
    let _poller = ProcessGroup(poller);

    let walk = tokio::process::Command::new(env!("CARGO_BIN_EXE_hound"))
        .args(["demo", "--base-url", &base, "--timeout-s", "300"])
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&walk.stdout);
    let err = String::from_utf8_lossy(&walk.stderr);
    println!("{out}");
    assert!(
        walk.status.success(),
        "the walk failed:\n{out}\n{err}\n(watch and poller log: {})",
        log_path.display()
    );
    assert!(out.contains("every step behaved"));

    // Every sample in events/ through `cargo lambda invoke`, to the function its name starts
    // with: HTTP samples get an API Gateway answer below 500, queue samples no failed items,
    // the schedule's sample a report.
    let mut invoked = 0;
    for entry in std::fs::read_dir(format!("{WORKSPACE}/events")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let function = [
            "dead-letter",
            "maintenance",
            "transcoder",
            "listener",
            "studio",
            "auth",
            "redeem",
            "checkin",
            "stripe-webhook",
        ]
        .into_iter()
        .find(|f| name.starts_with(f))
        .unwrap_or_else(|| panic!("{name}: no function for this sample"));
        let output = tokio::process::Command::new("cargo")
            .args([
                "lambda",
                "invoke",
                function,
                "-A",
                "127.0.0.1",
                "-P",
                &watch.port.to_string(),
            ])
            .arg("--data-file")
            .arg(&path)
            .current_dir(WORKSPACE)
            .output()
            .await
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&output.stdout)));
        match function {
            "transcoder" | "dead-letter" => assert_eq!(
                answer["batchItemFailures"],
                serde_json::json!([]),
                "{name}: {answer}"
            ),
            "maintenance" => assert!(answer["created"].is_array(), "{name}: {answer}"),
            _ => {
                // A real answer of the function: no 5xx, and errors in API.md's shape.
                let status = answer["statusCode"].as_u64().unwrap_or(0);
                assert!((200..500).contains(&status), "{name}: {answer}");
                if status >= 400 {
                    let body: serde_json::Value =
                        serde_json::from_str(answer["body"].as_str().unwrap_or("")).unwrap();
                    assert!(body["error"]["code"].is_string(), "{name}: {answer}");
                }
            }
        }
        invoked += 1;
    }
    assert!(invoked >= 20, "only {invoked} samples");
}

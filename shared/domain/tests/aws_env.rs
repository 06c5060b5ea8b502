//! A function's AWS configuration comes from its environment alone (`AwsConfig::from_env`, as in
//! Lambda): against moto (`make test` exports `AWS_ENDPOINT_URL` and test credentials, as Lambda
//! exports the function role's), an upload URL it signs takes the bytes, and its S3 client sees
//! and deletes the object; its mailer sends.

use hound_domain::aws::{AwsConfig, Mailer, Storage};
use hound_testing::TestAws;

#[tokio::test]
async fn storage_configured_from_the_environment_signs_uploads_and_reaches_s3() {
    let moto = TestAws::new().await;
    let storage = Storage::new(
        AwsConfig::from_env(),
        moto.storage.masters_bucket.clone(),
        moto.storage.covers_bucket.clone(),
        moto.storage.streams_bucket.clone(),
    );
    let bucket = &storage.masters_bucket;
    let key = format!("env/{}.wav", uuid::Uuid::new_v4());
    let upload = storage
        .presign_put(bucket, &key, "audio/wav", 5)
        .await
        .unwrap();
    let put = reqwest::Client::new()
        .put(&upload.url)
        .header("content-type", "audio/wav")
        .body(b"RIFF!".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "{}", put.text().await.unwrap());

    let head = storage.head(bucket, &key).await.unwrap().expect("stored");
    assert_eq!(head.size_bytes, 5);
    let get = reqwest::get(storage.presign_get(bucket, &key).await.unwrap())
        .await
        .unwrap();
    assert_eq!(get.bytes().await.unwrap().as_ref(), b"RIFF!");

    storage.delete(bucket, &key).await.unwrap();
    assert!(storage.head(bucket, &key).await.unwrap().is_none());
}

#[tokio::test]
async fn a_mailer_configured_from_the_environment_sends() {
    let moto = TestAws::new().await;
    let mailer = Mailer::new(AwsConfig::from_env(), moto.mailer.from.clone());
    let to = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    mailer
        .send(&to, "Env", "From the environment.")
        .await
        .unwrap();
    let mail = hound_testing::mail_to(&to).await;
    assert!(mail.iter().any(|m| m.subject == "Env"), "{mail:?}");
}

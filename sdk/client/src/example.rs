use evl_sdk::TrustRoot;
use evl_client::Client;

/// Appends one node and returns its verified leaf index.
async fn append_one(base_url: &str, token: &str, trust_root_json: &[u8]) -> Result<u64, Box<dyn std::error::Error>> {
    let trust = TrustRoot::from_json(trust_root_json)?;
    let client = Client::new(base_url, Some(token), trust)?;
    let appended = client.append(br#"{"type":"blob/v1","data":"hello"}"#).await?;
    // The receipt verified: the node is this leaf of a tree signed by a trusted key.
    println!("{} is leaf {}", appended.evidence.node_id, appended.evidence.index);
    // Keep the receipt: anyone holding the trust root can check it offline.
    let _receipt_json: Vec<u8> = appended.receipt.to_json();
    Ok(appended.evidence.index.get())
}

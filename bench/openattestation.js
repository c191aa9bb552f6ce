// The peer comparison: OpenAttestation's wrapDocuments and verifySignature on documents shaped like
// CertLedger's demo credentials (same claims, Chinese and English text). Prints one JSON line.
//
// What OpenAttestation does per document: wrapDocuments salts every field (a uuid per value),
// hashes the flattened salted fields (keccak256) into a targetHash, and builds one Merkle tree over
// the batch; verifySignature recomputes the targetHash and checks the Merkle proof to the root.
// It neither signs (the issuer's authority comes from a document store contract or DNS), encrypts,
// nor stores anything. Usage: node bench/openattestation.js [N]
const { performance } = require("perf_hooks");
const oa = require("@govtechsg/open-attestation");

const n = Number(process.argv[2] || 10000);

function document(i) {
  return {
    $template: { name: "DegreeCertificate", type: "EMBEDDED_RENDERER", url: "https://renderer.example" },
    issuers: [{
      name: "浙江示范大学 Zhejiang Demo University",
      documentStore: "0x9178F546D3FF57D7A6352bD61B80cCCD46199C2d",
      identityProof: { type: "DNS-TXT", location: "university.example" },
    }],
    id: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    validFrom: "2024-07-01T00:00:00Z",
    credentialSubject: {
      name: `王伟 (Wang) ${i}`,
      idNumber: "330106199001011234",
      degree: "工学学士 Bachelor of Engineering",
      major: "计算机科学与技术 Computer Science and Technology",
      institution: "浙江示范大学",
      graduationDate: "2024-06-30",
      certificateNumber: `10335-2024-${String(i).padStart(6, "0")}`,
    },
  };
}

const docs = Array.from({ length: n }, (_, i) => document(i));
let t0 = performance.now();
const wrapped = oa.wrapDocuments(docs);
const wrapS = (performance.now() - t0) / 1000;

t0 = performance.now();
let ok = 0;
for (const w of wrapped) if (oa.verifySignature(w)) ok += 1;
const verifyS = (performance.now() - t0) / 1000;
if (ok !== n) throw new Error(`only ${ok} of ${n} wrapped documents verified`);

console.log(JSON.stringify({
  documents: n,
  wrapped_bytes: Math.round(wrapped.reduce((s, w) => s + JSON.stringify(w).length, 0) / n),
  wrap_per_s: Math.round(n / wrapS),
  verify_signature_per_s: Math.round(n / verifyS),
  version: require("@govtechsg/open-attestation/package.json").version,
}));

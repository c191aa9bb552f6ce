// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Certificate ledger: Merkle roots of credential batches, and the status of each credential.
/// @notice Protocol v2: every record lives in the namespace of one agency. Anchors are keyed
/// (agencyId, root), statuses (agencyId, digest) and root statuses (agencyId, root). An operator
/// only ever writes its own agency's namespace, so nothing another agency does (anchoring the same
/// root first, or a root of its own containing the same public digest, and then revoking it) can
/// change what a verifier reads for this agency.
interface ICertLedger {
    // states
    //   0 ACTIVE, 1 SUSPENDED, 2 REVOKED
    // reasons (uint8, recorded as given): 0 unspecified, 1 superseded, 2 issued in error,
    //   3 key compromise, 4 holder request, 5 administrative decision, 6 expired by law; others allowed.

    // --- errors ---
    error NotOperator(address caller);
    error AgencyInactive(bytes32 agencyId);
    error ZeroRoot();
    error EmptyBatch();
    error AlreadyAnchored(bytes32 agencyId, bytes32 root);   // only ever within one agency's namespace
    error RootNotAnchored(bytes32 agencyId, bytes32 root);   // not in the caller's agency's namespace
    error InvalidProof(bytes32 digest, bytes32 root);
    error CredentialRevoked(bytes32 digest);   // revocation is final
    error AlreadySuspended(bytes32 digest);
    error NotSuspended(bytes32 digest);
    error RootRevoked(bytes32 root);
    error LengthMismatch();

    // --- events ---
    event Anchored(bytes32 indexed agencyId, bytes32 indexed root, uint32 count, address operator);
    event StatusChanged(bytes32 indexed agencyId, bytes32 indexed digest, uint8 state, uint8 reason);
    /// A whole batch revoked at once (state is always 2).
    event RootStatusChanged(bytes32 indexed agencyId, bytes32 indexed root, uint8 state, uint8 reason);

    // --- writes: only an operator, always in its own agency's namespace (anchor: an active agency) ---
    function anchor(bytes32 root, uint32 count) external;
    function revoke(bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 reason) external;
    function suspend(bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 reason) external;
    function reinstate(bytes32 digest, bytes32 root, bytes32[] calldata proof, uint8 reason) external;
    /// Many credentials in one transaction; digests[i] is proven by proofs[i] against roots[i].
    function revokeMany(bytes32[] calldata digests, bytes32[] calldata roots, bytes32[][] calldata proofs, uint8 reason) external;
    function suspendMany(bytes32[] calldata digests, bytes32[] calldata roots, bytes32[][] calldata proofs, uint8 reason) external;
    function reinstateMany(bytes32[] calldata digests, bytes32[] calldata roots, bytes32[][] calldata proofs, uint8 reason) external;
    /// Revokes every credential of a batch; final.
    function revokeRoot(bytes32 root, uint8 reason) external;

    // --- reads ---
    function registry() external view returns (address);
    function anchorOf(bytes32 agencyId, bytes32 root) external view
        returns (uint64 timestamp, uint64 blockNumber, uint32 count);       // all zero: not anchored
    function statusOf(bytes32 agencyId, bytes32 digest) external view
        returns (uint8 state, uint8 reason, uint64 since);                  // 0 active, 1 suspended, 2 revoked
    function rootStatusOf(bytes32 agencyId, bytes32 root) external view
        returns (uint8 state, uint8 reason, uint64 since);                  // 2 when the whole batch is revoked
    /// The credential's effective status given the batch it belongs to: a revoked root wins.
    function credentialStatus(bytes32 agencyId, bytes32 digest, bytes32 root) external view
        returns (uint8 state, uint8 reason, uint64 since);
}

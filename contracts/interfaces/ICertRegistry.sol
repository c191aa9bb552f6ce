// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Issuer registry: which agencies exist, who operates for them, their signing keys and
/// the credential types each may issue. Governance is the AccessControl admin role.
/// @notice Protocol v2: every record lives in the namespace of one agency. Signing keys are keyed
/// (agencyId, publicKey), so two agencies may register the same key bytes independently and no
/// agency can block another's key by registering it first.
interface ICertRegistry {
    // --- errors ---
    error InvalidAgencyCode(string code);           // not [a-z0-9-]{3,64}
    error InvalidAgencyName();                      // not 1..200 bytes
    error AgencyExists(bytes32 agencyId);
    error UnknownAgency(bytes32 agencyId);
    error ZeroAddress();
    error OperatorAssigned(address operator, bytes32 agencyId);
    error UnknownOperator(address operator);
    /// Zero, non-canonical (y >= p) or a small-order point: no signature could be trusted under it.
    error WeakKey(bytes32 publicKey);
    error KeyExists(bytes32 agencyId, bytes32 publicKey);
    error UnknownKey(bytes32 agencyId, bytes32 publicKey);
    error InvalidRevocationTime(bytes32 publicKey, uint64 revokedAt);
    error NotAgencyOperator(address caller, bytes32 agencyId);  // neither governance nor the agency's operator

    // --- events (the public record of governance) ---
    event AgencyRegistered(bytes32 indexed agencyId, uint32 index, string code, string name);
    event AgencyNameChanged(bytes32 indexed agencyId, string name);
    event AgencyActiveChanged(bytes32 indexed agencyId, bool active);
    event OperatorAdded(bytes32 indexed agencyId, address indexed operator);
    event OperatorRemoved(bytes32 indexed agencyId, address indexed operator);
    event KeyAdded(bytes32 indexed agencyId, bytes32 indexed publicKey, uint64 validFrom);
    event KeyRevoked(bytes32 indexed agencyId, bytes32 indexed publicKey, uint64 revokedAt);
    event TypePermissionChanged(bytes32 indexed agencyId, bytes32 indexed typeId, bool permitted);

    // --- governance (admin role) ---
    /// agencyId = keccak256(bytes(code)); the agency starts active. `name` is its display name,
    /// 1..200 bytes. Returns the agencyId.
    function registerAgency(string calldata code, string calldata name) external returns (bytes32 agencyId);
    /// A new display name, 1..200 bytes.
    function setAgencyName(bytes32 agencyId, string calldata name) external;
    function setAgencyActive(bytes32 agencyId, bool active) external;
    function addOperator(bytes32 agencyId, address operator) external;
    function removeOperator(address operator) external;
    function setTypePermitted(bytes32 agencyId, bytes32 typeId, bool permitted) external;

    // --- governance or one of the agency's own operators ---
    /// Registers `publicKey` (raw 32-byte Ed25519 encoding) for `agencyId` only. validFrom 0 means
    /// "now" (block.timestamp).
    function addKey(bytes32 agencyId, bytes32 publicKey, uint64 validFrom) external;
    /// revokedAt 0 means "now"; a past time (>= validFrom) records a compromise. A key already
    /// revoked may only be revoked again to an earlier time.
    function revokeKey(bytes32 agencyId, bytes32 publicKey, uint64 revokedAt) external;

    // --- reads ---
    /// code "": not registered.
    function agencyInfo(bytes32 agencyId) external view
        returns (string memory code, string memory name, bool active);
    /// validFrom 0: the key is not registered for this agency.
    function keyOf(bytes32 agencyId, bytes32 ed25519PublicKey) external view
        returns (uint64 validFrom, uint64 revokedAt);
    function isPermitted(bytes32 agencyId, bytes32 typeId) external view returns (bool);
    function agencyOf(address operator) external view returns (bytes32 agencyId);
    function agencyIdAt(uint32 index) external view returns (bytes32 agencyId);  // index from 1
    function agencyCount() external view returns (uint32);
    /// One call for the ledger's hot path: the caller's agency and whether it is active.
    function operatorInfo(address operator) external view returns (bytes32 agencyId, bool active);
}

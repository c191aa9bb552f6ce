// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title Issuer registry: which agencies exist, who operates for them, their signing keys and
/// the credential types each may issue. Governance is the AccessControl admin role.
interface ICertRegistry {
    // --- errors ---
    error InvalidAgencyCode(string code);           // not [a-z0-9-]{3,64}
    error AgencyExists(bytes32 agencyId);
    error UnknownAgency(bytes32 agencyId);
    error ZeroAddress();
    error OperatorAssigned(address operator, bytes32 agencyId);
    error UnknownOperator(address operator);
    error ZeroKey();
    error KeyExists(bytes32 publicKey);
    error UnknownKey(bytes32 publicKey);
    error InvalidRevocationTime(bytes32 publicKey, uint64 revokedAt);
    error NotAgencyOperator(address caller, bytes32 agencyId);  // neither governance nor the agency's operator

    // --- events (the public record of governance) ---
    event AgencyRegistered(bytes32 indexed agencyId, uint32 index, string code);
    event AgencyActiveChanged(bytes32 indexed agencyId, bool active);
    event OperatorAdded(bytes32 indexed agencyId, address indexed operator);
    event OperatorRemoved(bytes32 indexed agencyId, address indexed operator);
    event KeyAdded(bytes32 indexed agencyId, bytes32 indexed publicKey, uint64 validFrom);
    event KeyRevoked(bytes32 indexed agencyId, bytes32 indexed publicKey, uint64 revokedAt);
    event TypePermissionChanged(bytes32 indexed agencyId, bytes32 indexed typeId, bool permitted);

    // --- governance (admin role) ---
    /// agencyId = keccak256(bytes(code)); the agency starts active. Returns the agencyId.
    function registerAgency(string calldata code) external returns (bytes32 agencyId);
    function setAgencyActive(bytes32 agencyId, bool active) external;
    function addOperator(bytes32 agencyId, address operator) external;
    function removeOperator(address operator) external;
    function setTypePermitted(bytes32 agencyId, bytes32 typeId, bool permitted) external;

    // --- governance or one of the agency's own operators ---
    /// validFrom 0 means "now" (block.timestamp).
    function addKey(bytes32 agencyId, bytes32 publicKey, uint64 validFrom) external;
    /// revokedAt 0 means "now"; a past time (>= validFrom) records a compromise. A key already
    /// revoked may only be revoked again to an earlier time.
    function revokeKey(bytes32 publicKey, uint64 revokedAt) external;

    // --- reads (DESIGN.md read interface, plus helpers) ---
    function keyOf(bytes32 ed25519PublicKey) external view
        returns (bytes32 agencyId, uint64 validFrom, uint64 revokedAt);
    function isPermitted(bytes32 agencyId, bytes32 typeId) external view returns (bool);
    function agencyOf(address operator) external view returns (bytes32 agencyId);
    function agency(bytes32 agencyId) external view
        returns (bool exists, bool active, uint32 index, string memory code);
    function agencyIdAt(uint32 index) external view returns (bytes32 agencyId);  // index from 1
    function agencyCount() external view returns (uint32);
    /// One call for the ledger's hot path: the caller's agency, its compact index and whether it is active.
    function operatorInfo(address operator) external view
        returns (bytes32 agencyId, uint32 index, bool active);
}

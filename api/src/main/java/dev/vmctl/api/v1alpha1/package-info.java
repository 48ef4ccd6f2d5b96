/**
 * The vmctl resource API, group {@code vmctl.dev}, version {@code v1alpha1}. These types are the
 * source of the CRDs in {@code crds/}: validation, defaults and printer columns are declared here
 * and enforced by the API server.
 */
package dev.vmctl.api.v1alpha1;

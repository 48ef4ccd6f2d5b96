package dev.vmctl.operator;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.informers.cache.BasicItemStore;
import io.fabric8.kubernetes.client.informers.cache.Cache;
import io.fabric8.kubernetes.client.informers.cache.ItemStore;
import java.util.stream.Stream;

/**
 * An informer store that drops {@code metadata.managedFields} before caching. The operator never
 * reads them (it does not server-side apply the resources it caches), and they are often the larger
 * half of a small object: at 10,000 VMs this is the difference between fitting the operator's
 * memory target or not.
 */
public final class TrimmingItemStore<T extends HasMetadata> implements ItemStore<T> {
  private final BasicItemStore<T> delegate = new BasicItemStore<>(Cache::metaNamespaceKeyFunc);

  @Override
  public String getKey(T obj) {
    return delegate.getKey(obj);
  }

  @Override
  public T put(String key, T obj) {
    obj.getMetadata().setManagedFields(null);
    return delegate.put(key, obj);
  }

  @Override
  public T remove(String key) {
    return delegate.remove(key);
  }

  @Override
  public Stream<String> keySet() {
    return delegate.keySet();
  }

  @Override
  public Stream<T> values() {
    return delegate.values();
  }

  @Override
  public int size() {
    return delegate.size();
  }

  @Override
  public T get(String key) {
    return delegate.get(key);
  }
}
